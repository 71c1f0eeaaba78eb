using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>What FASTER's callbacks hand back: a read's value bytes, or what a merge did and what it replaced.</summary>
internal struct ReplicaOutput
{
    public SpanByteAndMemory Value;
    public MergeOutcome Outcome;

    /// <summary>The merge replaced a value that was not a tombstone.</summary>
    public bool ReplacedLive;

    /// <summary>The merge replaced a live value that had an expiry.</summary>
    public bool ReplacedExpiring;

    /// <summary>The merge replaced a record (live or tombstone) whose version is <see cref="ReplacedVersion"/>.</summary>
    public bool ReplacedAny;

    public ValueVersion ReplacedVersion;
}
