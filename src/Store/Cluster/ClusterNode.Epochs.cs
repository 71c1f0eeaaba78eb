using System.Collections.Concurrent;
using System.Net;
using DataPlane.Net.IO;
using DataPlane.Store.Membership;
using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

/// <summary>
/// Membership in numbered epochs. Each node keeps a table of every node it has known (indices never
/// change, so placements of two epochs compare); the current <see cref="ClusterView"/> is swapped as a
/// whole. Epochs spread by gossip: every heartbeat interval each node tells each peer its epoch (and
/// the epoch whose partitions it has received), and whoever hears of a newer epoch fetches it.
/// </summary>
internal sealed partial class ClusterNode
{
    private const string MembershipFile = "membership";

    private readonly Lock _membershipLock = new();
    private readonly ConcurrentDictionary<string, (long Epoch, long Ready)> _heard = new(StringComparer.Ordinal);
    private readonly List<Task> _membershipWork = [];
    private List<string> _names = [];
    private ClusterView _view = null!;
    private string _membershipPath = string.Empty;
    private IPEndPoint _clientEndPoint = new(IPAddress.Loopback, 0);
    private Task _gossip = Task.CompletedTask;
    private long _ready;
    private long _cleanupEpoch;
    private long _gossipRounds;
    private int _fetching;
    private int _cleaning;
    private bool _started;

    /// <summary>The current epoch's routing (swapped whole on a membership change).</summary>
    public ClusterView View => Volatile.Read(ref _view);

    public long Epoch => View.Membership.Epoch;

    public RebalanceStats Rebalance { get; } = new();

    /// <summary>Gossip rounds this node has completed (each tells every peer its epoch).</summary>
    public long GossipRounds => Interlocked.Read(ref _gossipRounds);

    /// <summary>How long one gossip call waits for its reply: one heartbeat interval (the next round asks again), never more than the suspicion time.</summary>
    private TimeSpan GossipTimeout => Options.HeartbeatInterval < Options.SuspectAfter ? Options.HeartbeatInterval : Options.SuspectAfter;

    private void InitMembership(List<string> names, IPEndPoint clientEndPoint, string dataDirectory)
    {
        _names = names;
        _clientEndPoint = clientEndPoint;
        _membershipPath = Path.Combine(dataDirectory, MembershipFile);
        var membership = LoadMembership();
        if (membership is not null)
        {
            foreach (var member in membership.Everyone)
            {
                if (!_names.Contains(member.Name))
                {
                    AddPeerLocked(member.Name, member.Peer);
                }
            }

            // A restart may have missed the clean-up of partitions handed away.
            _cleanupEpoch = membership.IsTransitional ? 0 : membership.Epoch;
        }
        else
        {
            // A static cluster starts at epoch 1 on every node alike; a joining node at 0, alone, until a seed answers.
            var members = Options.Join is null
                ? names.Select(n => new Member(n, n == Options.NodeId ? Options.PeerListen : Options.Peers[n], n == Options.NodeId ? clientEndPoint : null))
                : [new Member(Options.NodeId, Options.PeerListen, clientEndPoint)];
            membership = new ClusterMembership(Options.Join is null ? 1 : 0, members, null);
        }

        _view = BuildView(membership, null);
    }

    private PeerState NewPeer(int index, string name, IPEndPoint endPoint)
    {
        // Each peer's replies are received by one client loop (when the node has them), peers spread over the loops.
        var loop = _peerLoops.Count > 0 ? _peerLoops[index % _peerLoops.Count] : null;
        var client = new PeerClient(name, endPoint, Options.NodeId, Options.ClusterName, Options.MaxInFlightPerPeer, Time, _peerLogger, loop);
        client.StateChanged += OnStateChanged;
        client.Heard += OnHeard;
        return new PeerState(index, client);
    }

    /// <summary>Adds a node to the table (under <see cref="_membershipLock"/> or before start): a new index and a connection.</summary>
    private void AddPeerLocked(string name, IPEndPoint endPoint)
    {
        var peer = NewPeer(_names.Count, name, endPoint);
        _names = [.. _names, name];
        var peers = Volatile.Read(ref _peers);
        Volatile.Write(ref _peers, [.. peers, peer]);
        if (_started)
        {
            peer.Client.Start();
        }
    }

    private ClusterView BuildView(ClusterMembership membership, ClusterView? before)
    {
        var nodes = _names.ToArray();
        int[] Indices(IEnumerable<Member> members) => [.. members.Select(m => Array.IndexOf(nodes, m.Name))];
        var members = new Placement(nodes, Indices(membership.Members), Options.Partitions, Options.Replicas);
        if (membership.Previous is { } previous)
        {
            var old = new Placement(nodes, Indices(previous), Options.Partitions, Options.Replicas);
            var gained = new List<int>();
            var receivers = new HashSet<string>(StringComparer.Ordinal);
            for (var p = 0; p < old.Partitions; p++)
            {
                var owners = old.PreferenceList(p);
                foreach (var owner in members.PreferenceList(p))
                {
                    if (!owners.Contains(owner))
                    {
                        receivers.Add(nodes[owner]);
                        if (owner == Self)
                        {
                            gained.Add(p);
                        }
                    }
                }
            }

            return new ClusterView(membership, old, members, [.. gained], receivers);
        }

        // After a switch, the old owners keep getting writes until every peer has seen it.
        var extra = before is null ? null : before.Membership.IsTransitional ? before.Current : before.Extra;
        return new ClusterView(membership, members, extra, [], new HashSet<string>());
    }

    /// <summary>Takes a newer membership: new peers are connected, the view swapped, the membership kept on disk, and this node's part in the change begun.</summary>
    private bool Adopt(ClusterMembership membership)
    {
        ClusterView view;
        lock (_membershipLock)
        {
            var before = _view;
            if (membership.Epoch <= before.Membership.Epoch || _stopping.IsCancellationRequested)
            {
                return false;
            }

            foreach (var member in membership.Everyone)
            {
                if (member.Name != Options.NodeId && !_names.Contains(member.Name))
                {
                    AddPeerLocked(member.Name, member.Peer);
                }
            }

            view = BuildView(membership, before);
            Volatile.Write(ref _view, view);
            SaveMembership(membership);
            Begin(view);
        }

        LogEpoch(_logger, membership);
        _ = GossipRoundAsync();
        return true;
    }

    /// <summary>This node's part in an epoch: receiving its gained partitions, or the clean-up after a switch.</summary>
    private void Begin(ClusterView view)
    {
        if (!_started)
        {
            return;
        }

        if (view.Membership.IsTransitional)
        {
            if (view.Gained.Length == 0)
            {
                Volatile.Write(ref _ready, view.Membership.Epoch);
            }
            else
            {
                _membershipWork.Add(ReceiveAsync(view, _stopping.Token));
            }
        }
        else if (view.Extra is not null)
        {
            Volatile.Write(ref _cleanupEpoch, view.Membership.Epoch);
        }
    }

    private void StartMembership()
    {
        lock (_membershipLock)
        {
            _started = true;
            if (View.Membership.Members.FirstOrDefault(m => m.Name == Options.NodeId) is { } self && !self.Peer.Equals(PeerEndPoint))
            {
                // Port 0 was asked for: the membership carries the port bound.
                var m = View.Membership;
                var fixedUp = new ClusterMembership(m.Epoch, m.Members.Select(x => x == self ? self with { Peer = PeerEndPoint } : x), m.Previous);
                _view = BuildView(fixedUp, null);
            }

            Begin(View);
        }

        _gossip = GossipLoopAsync(_stopping.Token);
    }

    private async Task StopMembershipAsync()
    {
        await _gossip.ConfigureAwait(false);
        Task[] work;
        lock (_membershipLock)
        {
            work = [.. _membershipWork];
        }

        await Task.WhenAll(work).ConfigureAwait(false);
    }

    private async Task GossipLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await GossipRoundAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _gossipRounds);
                TrySettle();
                TryCleanUp();
                lock (_membershipLock)
                {
                    _membershipWork.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private Task GossipRoundAsync()
    {
        var everyone = View.Membership.Everyone.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var calls = new List<Task>();
        foreach (var peer in Peers)
        {
            if (peer.Client.IsConnected && everyone.Contains(peer.Name))
            {
                calls.Add(GossipAsync(peer));
            }
        }

        return Task.WhenAll(calls);
    }

    private async Task GossipAsync(PeerState peer)
    {
        var name = System.Text.Encoding.ASCII.GetBytes(Options.NodeId);
        var payload = new byte[17 + name.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(payload, Epoch);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), Volatile.Read(ref _ready));
        payload[16] = (byte)name.Length;
        name.CopyTo(payload, 17);
        try
        {
            // A reply later than the next round is of no use (that round asks again), and waiting longer would let one
            // hung peer slow every round, and a stop, to its suspicion time: the round waits one interval at most.
            var reply = await peer.Client.CallAsync(FrameType.Gossip, -1, payload, default, default, GossipTimeout).ConfigureAwait(false);
            if (reply.Type == FrameType.GossipReply && reply.Payload.Length >= 16)
            {
                var epoch = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(reply.Payload);
                _heard[peer.Name] = (epoch, System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(reply.Payload.AsSpan(8)));
                if (epoch > Epoch)
                {
                    // Not awaited: the fetch has its own timeout, and the round must not wait on it.
                    _ = FetchAsync(peer);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException)
        {
            // The heartbeat judges silence; gossip tries again next round.
        }
    }

    /// <summary>Fetches a newer membership from a peer that has it (one fetch at a time; a failure waits for the next gossip).</summary>
    private async Task FetchAsync(PeerState peer)
    {
        if (Interlocked.Exchange(ref _fetching, 1) != 0)
        {
            return;
        }

        try
        {
            var reply = await peer.Client.CallAsync(FrameType.MembershipRequest, -1, default, default, default, Options.RequestTimeout).ConfigureAwait(false);
            if (reply.Type == FrameType.MembershipReply)
            {
                Adopt(ClusterMembership.Decode(reply.Payload));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException)
        {
            // The peer that told of the newer epoch will tell again next round.
        }
        finally
        {
            Volatile.Write(ref _fetching, 0);
        }
    }

    /// <summary>Every receiver has acknowledged its partitions: the stable epoch follows (each node derives the same one).</summary>
    private void TrySettle()
    {
        var view = View;
        var epoch = view.Membership.Epoch;
        if (!view.Membership.IsTransitional)
        {
            return;
        }

        foreach (var receiver in view.Receivers)
        {
            var ready = receiver == Options.NodeId ? Volatile.Read(ref _ready) : _heard.TryGetValue(receiver, out var heard) ? heard.Ready : 0;
            if (ready < epoch)
            {
                return;
            }
        }

        Adopt(view.Membership.Settled());
    }

    /// <summary>Whether every peer that answers has seen <paramref name="epoch"/> (peers down for longer than the suspicion time do not hold it up).</summary>
    private bool EveryoneKnows(long epoch, long since)
    {
        foreach (var peer in Peers)
        {
            if (_heard.TryGetValue(peer.Name, out var heard) && heard.Epoch >= epoch)
            {
                continue;
            }

            if (!View.Membership.Everyone.Any(m => m.Name == peer.Name))
            {
                continue;
            }

            if (peer.Suspected && (peer.LastHeard != 0 || Time.GetElapsedTime(since) > Options.SuspectAfter))
            {
                continue;
            }

            return false;
        }

        return true;
    }

    private ClusterMembership? LoadMembership()
    {
        try
        {
            return File.Exists(_membershipPath) ? ClusterMembership.Decode(File.ReadAllBytes(_membershipPath)) : null;
        }
        catch (InvalidDataException e)
        {
            LogMembershipUnreadable(_logger, _membershipPath, e.Message);
            return null;
        }
    }

    private void SaveMembership(ClusterMembership membership) => DurableFile.Replace(_membershipPath, membership.Encode());

    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "Membership {Membership}")]
    private static partial void LogEpoch(ILogger logger, ClusterMembership membership);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "Ignored the unreadable membership file {Path}: {Reason}")]
    private static partial void LogMembershipUnreadable(ILogger logger, string path, string reason);
}
