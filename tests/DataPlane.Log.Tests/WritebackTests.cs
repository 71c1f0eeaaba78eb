using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Tests;

/// <summary>
/// The writer starts writeback of what it has written every MiB, before the fsync that acknowledges it;
/// a real error from that start fails the append as a failed write does.
/// </summary>
public class WritebackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <summary>Thirty ~40 KB batches: one append of about 1.2 MB, one group, more than one MiB.</summary>
    private static byte[] Big(int first) =>
        Enumerable.Range(0, 30).SelectMany(i => TestBatches.Make(first + i, 1, valueBytes: 40_000)).ToArray();

    [Fact]
    public async Task Writeback_IsStartedForBytesAlreadyWritten_InOrder_FromTheStartOfTheSegment()
    {
        var ranges = new List<(long Offset, long Length, long FileLength)>();
        void StartWriteback(SafeFileHandle file, long offset, long length)
        {
            lock (ranges)
            {
                ranges.Add((offset, length, RandomAccess.GetLength(file)));
            }
        }

        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path, StartWriteback = StartWriteback });
        log.CreateTopic("t", 1);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(LogError.None, (await log.AppendAsync("t", 0, Big(30 * i))).Error);
        }

        Assert.True(ranges.Count >= 3, $"writeback started {ranges.Count} times for 3.6 MB");
        var next = 0L;
        foreach (var (offset, length, fileLength) in ranges)
        {
            Assert.Equal(next, offset);
            Assert.True(length >= 1 << 20, $"a range of {length} B; the writer starts writeback a MiB at a time");
            Assert.True(offset + length <= fileLength, "writeback started for bytes not yet written");
            next = offset + length;
        }
    }

    [Fact]
    public async Task WritebackError_FailsTheAppend_LeavesNoPartialBatch_AndTheLogKeepsWorking()
    {
        var failing = false;
        void StartWriteback(SafeFileHandle file, long offset, long length)
        {
            if (failing)
            {
                throw new IOException("Input/output error");
            }
        }

        var options = new CommitLogOptions { DataDirectory = _dir.Path, StartWriteback = StartWriteback };
        var logFile = Path.Combine(_dir.Path, "t-0", $"{0:D20}.log");
        await using (var log = CommitLog.Open(options))
        {
            log.CreateTopic("t", 1);
            Assert.Equal(0, (await log.AppendAsync("t", 0, TestBatches.Make(0, 2))).BaseOffset);
            var before = new FileInfo(logFile).Length;

            failing = true;
            var failed = await log.AppendAsync("t", 0, Big(2));
            Assert.Equal(LogError.StorageError, failed.Error);
            Assert.Equal(2, log.GetOffsets("t", 0).HighWatermark);
            Assert.Equal(["k0", "k1"], TestBatches.ReadAll(log, "t", 0).Select(r => TestBatches.Text(r.Key)));
            Assert.Equal(before, new FileInfo(logFile).Length);

            failing = false;
            Assert.Equal(2, (await log.AppendAsync("t", 0, Big(2))).BaseOffset);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.Equal(32, TestBatches.ReadAll(reopened, "t", 0).Count);
    }

    [Fact]
    public void Start_OnARealFile_Succeeds_AndLeavesTheBytesInPlace()
    {
        var path = Path.Combine(_dir.Path, "f");
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        var bytes = new byte[3 << 20];
        Random.Shared.NextBytes(bytes);
        RandomAccess.Write(file, bytes, 0);

        Storage.Writeback.Start(file, 0, bytes.Length);
        Storage.Writeback.Start(file, 1 << 20, 1 << 20);

        var back = new byte[bytes.Length];
        Assert.Equal(bytes.Length, RandomAccess.Read(file, back, 0));
        Assert.Equal(bytes, back);
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
