namespace DataPlane.Store.Replica;

/// <summary>
/// What a replica is opened with; <see cref="StoreServer"/> builds it from <see cref="StoreOptions"/>.
/// <paramref name="BuryExpired"/>: an expired value becomes a tombstone of its version, purged after the
/// tombstone grace, as Cassandra turns an expired cell into one: an older write still on its way to a
/// cluster node (a hint, a repair) must find the newer version to lose to. A single node reclaims it at once.
/// </summary>
internal sealed record ReplicaSettings(
    string Directory,
    int NodeId,
    FsyncMode Fsync,
    long MaxMemory,
    TimeSpan TombstoneGrace,
    TimeProvider Time,
    long IndexBuckets = 1L << 18,
    bool BuryExpired = false);
