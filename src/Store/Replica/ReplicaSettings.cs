namespace DataPlane.Store.Replica;

/// <summary>
/// What a replica is opened with; <see cref="StoreServer"/> builds it from <see cref="StoreOptions"/>.
/// <paramref name="ExpiredGrace"/>: how long an expired value is kept (invisible) after its expiry. A cluster
/// node keeps it as long as a tombstone, as Cassandra keeps an expired cell: an older write still on its way
/// (a hint, a repair) must find the newer version to lose to. A single node reclaims it at once.
/// </summary>
internal sealed record ReplicaSettings(
    string Directory,
    int NodeId,
    FsyncMode Fsync,
    long MaxMemory,
    TimeSpan TombstoneGrace,
    TimeProvider Time,
    long IndexBuckets = 1L << 18,
    TimeSpan ExpiredGrace = default);
