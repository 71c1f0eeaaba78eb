using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log;

/// <summary>How to open a <see cref="CommitLog"/>.</summary>
public sealed class CommitLogOptions
{
    /// <summary>The directory holding the topics' partition folders (<c>&lt;topic&gt;-&lt;partition&gt;</c>); created if missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The config of topics created without one.</summary>
    public TopicConfig DefaultTopicConfig { get; init; } = new();

    /// <summary>The clock for segment age, retention and flush intervals (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How often retention runs in the background (Kafka's <c>log.retention.check.interval.ms</c>, default 5 minutes).</summary>
    public TimeSpan RetentionCheckInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a deleted segment's file stays open for reads already handed out (Kafka's <c>file.delete.delay.ms</c>, default 60 s).</summary>
    public TimeSpan FileDeleteDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The most bytes of batches one group commit takes (default 4 MiB, raised to twice
    /// <see cref="TopicConfig.MaxMessageBytes"/> if that is larger); later appends wait for the next group.
    /// The log keeps no copy of a group: it writes the callers' bytes.
    /// </summary>
    public long GroupCommitBytes { get; init; } = 4 << 20;

    /// <summary>Gather-writes buffers at a position of a segment file; tests replace it to fail like a full disk.</summary>
    internal Action<SafeFileHandle, IReadOnlyList<ReadOnlyMemory<byte>>, long> WriteAt { get; init; } =
        Storage.GatherWriter.Write;

    /// <summary>Grows a file with its blocks reserved (see <see cref="Storage.Preallocation"/>); tests replace it to fail like a full disk.</summary>
    internal Action<SafeFileHandle, long> Preallocate { get; init; } = Storage.Preallocation.Reserve;

    /// <summary>Starts writeback of a written range of a segment file (see <see cref="Storage.Writeback"/>); tests replace it to fail like EIO.</summary>
    internal Action<SafeFileHandle, long, long> StartWriteback { get; init; } = Storage.Writeback.Start;

    /// <summary>
    /// Makes a segment file's written bytes durable before durable appends are acknowledged (fdatasync, see
    /// <see cref="Net.IO.DurableFile.FlushData"/>); tests replace it to see what each sync covers.
    /// </summary>
    internal Action<SafeFileHandle> FlushToDisk { get; init; } = Net.IO.DurableFile.FlushData;
}
