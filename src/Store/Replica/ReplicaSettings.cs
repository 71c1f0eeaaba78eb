namespace DataPlane.Store.Replica;

/// <summary>What a replica is opened with; <see cref="StoreServer"/> builds it from <see cref="StoreOptions"/>.</summary>
internal sealed record ReplicaSettings(
    string Directory,
    int NodeId,
    FsyncMode Fsync,
    long MaxMemory,
    TimeSpan TombstoneGrace,
    TimeProvider Time,
    long IndexBuckets = 1L << 18);
