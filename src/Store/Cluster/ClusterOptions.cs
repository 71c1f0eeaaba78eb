using System.Net;

namespace DataPlane.Store.Cluster;

/// <summary>
/// Makes a <see cref="StoreServer"/> one node of a Dynamo-style cluster: keys live on
/// <see cref="Replicas"/> nodes picked by the ring, writes succeed after <see cref="WriteQuorum"/>
/// acknowledgements and reads after <see cref="ReadQuorum"/> answers. Every node is given the same
/// peer table (less itself).
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>The longest node id or cluster name: 64 ASCII characters (a hint frame gives a name one byte of length).</summary>
    internal const int MaxNameLength = 64;

    /// <summary>This node's name ("a"): letters, digits, '-' and '_'. It places the node on the ring and is kept in the data directory.</summary>
    public string NodeId { get; set; } = "a";

    /// <summary>The cluster's name ("dataplane"): nodes refuse peers that give another, so two clusters never mix.</summary>
    public string ClusterName { get; set; } = "dataplane";

    /// <summary>The address other nodes connect to for replication; port 0 picks a free port.</summary>
    public IPEndPoint PeerListen { get; set; } = new(IPAddress.Loopback, 17001);

    /// <summary>The other nodes: name to replication address.</summary>
    public IDictionary<string, IPEndPoint> Peers { get; } = new Dictionary<string, IPEndPoint>(StringComparer.Ordinal);

    /// <summary>N: how many nodes hold each key; default 3.</summary>
    public int Replicas { get; set; } = 3;

    /// <summary>R: how many replicas must answer a read; default 2.</summary>
    public int ReadQuorum { get; set; } = 2;

    /// <summary>W: how many replicas must apply a write before it is acknowledged; default 2.</summary>
    public int WriteQuorum { get; set; } = 2;

    /// <summary>The longest a client request waits for its quorum before an error reply; default 2 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a node sends each peer a heartbeat; default 250 ms.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A peer not heard from for this long is suspected and skipped until it answers again; default 2 s.</summary>
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Q: the fixed partitions of the hash space (a power of two); default 4096.</summary>
    public int Partitions { get; set; } = 4096;

    /// <summary>
    /// Hints handed to a returning node per second, at most; default 100,000. A backlog must drain faster
    /// than a loaded cluster writes, or it outlasts the outage: on the bench machine (2 cores, loopback)
    /// a node with a peer down wrote 39,000-48,000 hints/s under redis-benchmark -P 16 -c 50, and one
    /// delivery unthrottled reached 120,000-170,000/s with the cluster otherwise idle (about 70,000/s
    /// while clients kept writing at full speed). 100,000 is twice the loaded write rate and leaves a
    /// third of an idle node's delivery for clients; the former 20,000 drained slower than a loaded
    /// cluster wrote. <c>--hint-rate</c> sets it.
    /// </summary>
    public int HintsPerSecond { get; set; } = 100_000;

    /// <summary>Requests in flight to one peer before senders wait (back-pressure); default 4096.</summary>
    public int MaxInFlightPerPeer { get; set; } = 4096;

    /// <summary>Whether hints are handed to a node when it answers again; default true. Off, they stay on disk (tests of anti-entropy turn it off).</summary>
    public bool DeliverHints { get; set; } = true;

    /// <summary>
    /// Test seam: how this node's hint files' data is made durable, in place of
    /// <see cref="Net.IO.DurableFile.FlushData"/>; null (the default) for the real fdatasync. Cluster tests
    /// stand in for a slow or failing disk with it; nothing outside them sets it.
    /// </summary>
    internal Action<Microsoft.Win32.SafeHandles.SafeFileHandle>? HintSync { get; set; }

    /// <summary>Whether this node starts anti-entropy rounds (Merkle tree comparison with the other replicas of its partitions); default true. It always answers a peer's.</summary>
    public bool AntiEntropy { get; set; } = true;

    /// <summary>Time between anti-entropy rounds; default 10 s. A round with nothing to repair costs about 1.3 KB per peer.</summary>
    public TimeSpan AntiEntropyInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Values anti-entropy sends or fetches per second and peer, at most; default 10,000.</summary>
    public int AntiEntropyKeysPerSecond { get; set; } = 10_000;

    /// <summary>
    /// A running node's peer address to join through (<c>--join</c>): this node asks it for the
    /// membership, is added in a new epoch and receives its partitions before it serves clients.
    /// <see cref="Peers"/> may then stay empty. Null (the default): the peers given are the cluster.
    /// </summary>
    public IPEndPoint? Join { get; set; }

    /// <summary>Keys per batch at most when a partition streams to its new owner during a rebalance; default 500 (see also <see cref="TransferBatchBytes"/>).</summary>
    public int TransferBatchKeys { get; set; } = 500;

    /// <summary>
    /// Bytes per transfer batch at most (a single larger record still travels alone); default 32 KiB, so that no
    /// buffer on either side reaches the large-object heap, whose collections are full, blocking ones that clients see.
    /// </summary>
    public int TransferBatchBytes { get; set; } = 32 * 1024;

    /// <summary>Bytes per second a rebalance moves at most, shared by the nodes that receive partitions, so clients keep their latency; default 8 MiB.</summary>
    public long TransferBytesPerSecond { get; set; } = 8L << 20;

    /// <summary>
    /// Checks the settings: 1 &lt;= R, W &lt;= N, N no more than the nodes, names well formed.
    /// Returns the problems (empty when valid) and a warning when R + W &lt;= N (reads may miss the newest write).
    /// </summary>
    public IReadOnlyList<string> Validate(out string? warning)
    {
        var errors = new List<string>();
        warning = null;
        if (Replicas < 1)
        {
            errors.Add($"replicas (N) must be at least 1, got {Replicas}");
        }

        if (ReadQuorum < 1 || ReadQuorum > Replicas)
        {
            errors.Add($"read quorum (R) must be between 1 and N={Replicas}, got {ReadQuorum}");
        }

        if (WriteQuorum < 1 || WriteQuorum > Replicas)
        {
            errors.Add($"write quorum (W) must be between 1 and N={Replicas}, got {WriteQuorum}");
        }

        if (Join is null && Replicas > Peers.Count + 1)
        {
            errors.Add($"replicas (N={Replicas}) cannot exceed the number of nodes ({Peers.Count + 1})");
        }

        if (!IsValidName(ClusterName))
        {
            errors.Add($"cluster name '{ClusterName}' must be 1-64 letters, digits, '-' or '_'");
        }

        if (!IsValidName(NodeId))
        {
            errors.Add($"node id '{NodeId}' must be 1-64 letters, digits, '-' or '_'");
        }

        foreach (var name in Peers.Keys)
        {
            if (!IsValidName(name) || name == NodeId)
            {
                errors.Add($"peer name '{name}' must be 1-64 letters, digits, '-' or '_' and differ from the node id");
            }
        }

        if (Partitions < 1 || (Partitions & (Partitions - 1)) != 0)
        {
            errors.Add($"partitions (Q) must be a power of two, got {Partitions}");
        }

        if (RequestTimeout <= TimeSpan.Zero || HeartbeatInterval <= TimeSpan.Zero || SuspectAfter <= TimeSpan.Zero || MaxInFlightPerPeer < 1 || TransferBatchKeys < 1 || TransferBatchBytes < 1 || TransferBytesPerSecond < 1)
        {
            errors.Add("timeouts, intervals, the in-flight limit and the transfer batch and rate must be positive");
        }

        if (SuspectAfter <= HeartbeatInterval)
        {
            errors.Add($"the silence before a peer is suspected ({SuspectAfter.TotalMilliseconds:0} ms) must be longer than the heartbeat interval ({HeartbeatInterval.TotalMilliseconds:0} ms), or every peer is suspected between two heartbeats");
        }

        foreach (var (name, address) in Peers)
        {
            if (address.Equals(PeerListen))
            {
                errors.Add($"peer '{name}' has this node's own peer address {address}");
            }
        }

        if (HintsPerSecond < 1)
        {
            errors.Add($"the hint rate (--hint-rate) must be at least 1 hint per second, got {HintsPerSecond}");
        }

        if (Partitions > 1 << 16)
        {
            errors.Add($"partitions (Q) must be at most 65536 (each keeps a 512-byte Merkle tree), got {Partitions}");
        }

        if (AntiEntropyInterval <= TimeSpan.Zero || AntiEntropyKeysPerSecond < 1)
        {
            errors.Add("the anti-entropy interval and rate must be positive");
        }

        if (errors.Count == 0 && ReadQuorum + WriteQuorum <= Replicas)
        {
            warning = $"R={ReadQuorum} + W={WriteQuorum} <= N={Replicas}: a read may miss the newest acknowledged write";
        }

        return errors;
    }

    /// <summary>The id written into the versions this node creates: a stable hash of <see cref="NodeId"/>.</summary>
    internal int VersionId => (int)(Ring.RingHash.Hash(NodeId.AsSpan()) & int.MaxValue);

    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
