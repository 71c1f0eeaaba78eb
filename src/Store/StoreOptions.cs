using System.Net;

namespace DataPlane.Store;

/// <summary>How a <see cref="StoreServer"/> listens, where it keeps its data and how durable its writes are.</summary>
public sealed class StoreOptions
{
    /// <summary>The address to listen on; port 0 picks a free port (read it back from <see cref="StoreServer.EndPoint"/>).</summary>
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 6379);

    /// <summary>The directory holding the FASTER log, its checkpoints and the write-ahead log; created if missing.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>When the write-ahead log is forced to disk (Redis's <c>appendfsync</c>); default <see cref="FsyncMode.EverySecond"/>.</summary>
    public FsyncMode Fsync { get; set; } = FsyncMode.EverySecond;

    /// <summary>How often a FASTER snapshot checkpoint is taken, after which the write-ahead log before it is deleted; default 60 s.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Memory for FASTER's in-memory log, rounded down to a power of two (at least 64 MiB); older records spill to disk. Default 1 GiB.</summary>
    public long MaxMemory { get; set; } = 1L << 30;

    /// <summary>The id written into every version this node creates; breaks ties between equal timestamps (last writer wins).</summary>
    public int NodeId { get; set; } = 1;

    /// <summary>How long a deleted key's tombstone is kept before it is purged, so that replicas can learn of the delete; default 1 hour.</summary>
    public TimeSpan TombstoneGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often expired keys and old tombstones are reclaimed in the background; default 1 s.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest bulk string a client may send (Redis's <c>proto-max-bulk-len</c>); default 512 MiB. Values are also limited by the store's page size (32 MiB).</summary>
    public long MaxBulkLength { get; set; } = 512L * 1024 * 1024;

    /// <summary>Makes this server one node of a replicated cluster (quorum reads and writes, hinted handoff); null for a single node.</summary>
    public Cluster.ClusterOptions? Cluster { get; set; }

    /// <summary>How the node (single or in a cluster) serves its clients: <see cref="StoreTransport.Epoll"/> on Linux, <see cref="StoreTransport.Sockets"/> elsewhere.</summary>
    public StoreTransport Transport { get; set; } = OperatingSystem.IsLinux() ? StoreTransport.Epoll : StoreTransport.Sockets;

    /// <summary>How many epoll loops serve a single node's clients; 0 (the default) is one per two cores. Tests set it to run several on a small machine.</summary>
    internal int EventLoops { get; set; }

    /// <summary>The clock for expiry, versions and timers; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
