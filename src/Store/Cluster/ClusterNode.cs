using DataPlane.Store.Coordination;
using DataPlane.Store.Hints;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Server;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

/// <summary>
/// One node's part in the cluster: the peer listener, a connection to every peer, failure detection
/// by heartbeats, durable hints and their handoff, and the coordinator that client connections use.
/// </summary>
internal sealed partial class ClusterNode : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly LocalExecutor _executor;
    private readonly ILogger<PeerClient> _peerLogger;
    private readonly IReadOnlyList<IPeerLoop> _peerLoops;
    private PeerState?[] _peers;
    private InternodeListener? _listener;
    private Task _heartbeats = Task.CompletedTask;
    private long _readRepairs;

    public ClusterNode(ClusterOptions options, StoreOptions storeOptions, Replica.Replica replica, StoreContext standalone, ILoggerFactory loggers, IReadOnlyList<IPeerLoop> peerLoops)
    {
        _peerLoops = peerLoops;
        Options = options;
        Time = storeOptions.TimeProvider;
        Replica = replica;
        _logger = loggers.CreateLogger<ClusterNode>();
        _peerLogger = loggers.CreateLogger<PeerClient>();
        var names = new List<string>(options.Peers.Keys) { options.NodeId };
        names.Sort(StringComparer.Ordinal);
        Self = names.IndexOf(options.NodeId);
        _peers = new PeerState?[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            if (i != Self)
            {
                _peers[i] = NewPeer(i, names[i], options.Peers[names[i]]);
            }
        }

        InitMembership(names, new System.Net.IPEndPoint(storeOptions.Listen.Address, standalone.Port), storeOptions.DataDirectory);

        Sessions = new SessionPool(replica);
        Hints = new HintStore(Path.Combine(storeOptions.DataDirectory, "hints"), storeOptions.Fsync == FsyncMode.Always, options.HintSync, _logger);
        _executor = new LocalExecutor(standalone);
        Coordinator = new Coordinator(this, _executor);
    }

    public ClusterOptions Options { get; }

    public TimeProvider Time { get; }

    public Replica.Replica Replica { get; }

    /// <summary>The placement that reads use and writes count their quorum on (the old owners while rebalancing).</summary>
    public Placement Placement => View.Current;

    /// <summary>This node's index in <see cref="Placement"/>.</summary>
    public int Self { get; }

    public SessionPool Sessions { get; }

    public HintStore Hints { get; }

    public Coordinator Coordinator { get; }

    public long ReadRepairs => Interlocked.Read(ref _readRepairs);

    /// <summary>The peer at a node index (null for this node).</summary>
    public PeerState? Peer(int index) => Volatile.Read(ref _peers)[index];

    public IEnumerable<PeerState> Peers => Volatile.Read(ref _peers).OfType<PeerState>();

    /// <summary>Hints kept here for the peers, not yet delivered (INFO's and the meter's <c>hints_pending</c>).</summary>
    public long HintsPending => Peers.Sum(p => Hints.PendingFor(p.Name));

    /// <summary>The peers by node index (null at this node's own index), for a hot path that must not allocate.</summary>
    public PeerState?[] PeerSlots => Volatile.Read(ref _peers);

    /// <summary>Whether the node at <paramref name="index"/> may be asked: this node always, a peer when not suspected.</summary>
    public bool IsHealthy(int index) => index == Self || Volatile.Read(ref _peers)[index]!.Suspected is false;

    public long ProtocolErrors => _listener?.ProtocolErrors ?? 0;

    public System.Net.IPEndPoint PeerEndPoint => _listener?.EndPoint ?? Options.PeerListen;

    public void CountReadRepair() => Interlocked.Increment(ref _readRepairs);

    public void Start()
    {
        var antiEntropy = StartAntiEntropy();
        _listener = new InternodeListener(Options.PeerListen, Options.NodeId, Options.ClusterName, Replica, Hints, Coordinator.ExecuteHereAsync, _logger, antiEntropy, HandleMembershipFrameAsync, _peerLoops);
        _listener.Start();
        foreach (var peer in Peers)
        {
            peer.Client.Start();
        }

        _heartbeats = HeartbeatAsync(_stopping.Token);
        StartAntiEntropyRounds();
        StartMembership();
        LogStarted(_logger, Options.NodeId, PeerEndPoint, Options.Replicas, Options.ReadQuorum, Options.WriteQuorum);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _heartbeats.ConfigureAwait(false);
        await StopMembershipAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await StopAntiEntropyAsync().ConfigureAwait(false);

        foreach (var peer in Peers)
        {
            await peer.Client.DisposeAsync().ConfigureAwait(false);
        }

        await _executor.DisposeAsync().ConfigureAwait(false);
        Sessions.Dispose();
        Hints.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Cluster node {Node} replicating on {EndPoint} (N={N}, R={R}, W={W})")]
    private static partial void LogStarted(ILogger logger, string node, System.Net.IPEndPoint endPoint, int n, int r, int w);
}
