using DataPlane.Log.Records;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Tests;

/// <summary>
/// The durable policy's promise: an append is acknowledged only after an fsync that began once its batch was
/// written, whichever thread (the partition's writer or its syncer) ran that fsync.
/// </summary>
public class DurabilityTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private long _writtenThrough = -1;
    private long _durableThrough = -1;
    private volatile bool _failSync;

    /// <summary>Small batches make small groups; 40-160 KB appends from six appenders make groups of several MB.</summary>
    [Theory]
    [InlineData(0, 150)]
    [InlineData(40_000, 40)]
    public async Task DurableAppends_AreAcknowledgedOnlyAfterAnFsyncBegunAfterTheirWrite(int valueBytes, int appends)
    {
        await using var log = CommitLog.Open(Options());
        log.CreateTopic("d", 1);
        const int appenders = 6;
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            for (var i = 0; i < appends; i++)
            {
                var result = await log.AppendAsync("d", 0, TestBatches.Make(0, 1 + ((a + i) % 4), valueBytes: valueBytes));
                Assert.Equal(LogError.None, result.Error);
                Assert.True(result.LastOffset <= Volatile.Read(ref _durableThrough),
                    $"offset {result.LastOffset} acknowledged with only {Volatile.Read(ref _durableThrough)} synced");
            }
        })));

        Assert.Equal(Volatile.Read(ref _writtenThrough) + 1, log.GetOffsets("d", 0).HighWatermark);
    }

    [Fact]
    public async Task DurableAppend_WhoseFsyncFails_GetsAStorageError_AndLaterAppendsSucceed()
    {
        await using var log = CommitLog.Open(Options());
        log.CreateTopic("d", 1);
        Assert.Equal(LogError.None, (await log.AppendAsync("d", 0, TestBatches.Make(0, 2))).Error);

        _failSync = true;
        Assert.Equal(LogError.StorageError, (await log.AppendAsync("d", 0, TestBatches.Make(2, 2))).Error);

        _failSync = false;
        var after = await log.AppendAsync("d", 0, TestBatches.Make(4, 2));
        Assert.Equal(LogError.None, after.Error);
        Assert.True(after.LastOffset <= Volatile.Read(ref _durableThrough));
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private CommitLogOptions Options() => new() { DataDirectory = _dir.Path, WriteAt = WriteAt, FlushToDisk = FlushToDisk };

    /// <summary>Writes, then notes the last offset the write carried (its batch headers hold the stamped offsets).</summary>
    private void WriteAt(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long position)
    {
        RandomAccess.Write(file, buffers, position);
        for (var i = 0; i < buffers.Count; i += 2)
        {
            Max(ref _writtenThrough, RecordBatch.LastOffset(buffers[i].Span));
        }
    }

    /// <summary>An fsync covers what was written before it began.</summary>
    private void FlushToDisk(SafeFileHandle file)
    {
        var covered = Volatile.Read(ref _writtenThrough);
        if (_failSync)
        {
            throw new IOException("Input/output error");
        }

        RandomAccess.FlushToDisk(file);
        Max(ref _durableThrough, covered);
    }

    private static void Max(ref long target, long value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}
