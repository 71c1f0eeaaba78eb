namespace DataPlane.Store;

/// <summary>When the write-ahead log is forced to disk, as Redis's <c>appendfsync</c>.</summary>
public enum FsyncMode
{
    /// <summary>Every write is fsynced before its reply is sent; concurrent writes share one fsync (group commit).</summary>
    Always,

    /// <summary>Writes reach the operating system at once and are fsynced about once a second: a crash of the machine loses at most about a second, a crash of the process loses nothing.</summary>
    EverySecond,

    /// <summary>Writes reach the operating system at once; the operating system decides when they reach the disk.</summary>
    No,
}
