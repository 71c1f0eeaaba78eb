using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Tests;

public class StorageErrorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task FullDisk_FailsTheAppend_LeavesNoPartialBatch_AndTheLogKeepsWorking()
    {
        var full = false;
        void WriteAt(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long position)
        {
            if (full)
            {
                // What ENOSPC looks like: part of the write lands (a header and half the rest), then the error.
                RandomAccess.Write(file, buffers[0].Span, position);
                RandomAccess.Write(file, buffers[1].Span[..(buffers[1].Length / 2)], position + buffers[0].Length);
                throw new IOException("No space left on device");
            }

            RandomAccess.Write(file, buffers, position);
        }

        var options = new CommitLogOptions { DataDirectory = _dir.Path, WriteAt = WriteAt };
        await using (var log = CommitLog.Open(options))
        {
            log.CreateTopic("t", 1);
            Assert.Equal(0, (await log.AppendAsync("t", 0, TestBatches.Make(0, 3))).BaseOffset);

            full = true;
            var failed = await log.AppendAsync("t", 0, TestBatches.Make(3, 3));
            Assert.Equal(LogError.StorageError, failed.Error);
            Assert.Equal(3, log.GetOffsets("t", 0).HighWatermark);
            Assert.Equal(["k0", "k1", "k2"], TestBatches.ReadAll(log, "t", 0).Select(r => TestBatches.Text(r.Key)));
            Assert.Equal(TestBatches.Make(0, 3).Length, new FileInfo(Path.Combine(_dir.Path, "t-0", $"{0:D20}.log")).Length);

            full = false;
            Assert.Equal(3, (await log.AppendAsync("t", 0, TestBatches.Make(3, 2))).BaseOffset);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.Equal(["k0", "k1", "k2", "k3", "k4"], TestBatches.ReadAll(reopened, "t", 0).Select(r => TestBatches.Text(r.Key)));
    }

    [Fact]
    public async Task FullDisk_OnALaterWriteOfAGroup_CutsTheWholeGroup_AndTheLogKeepsWorking()
    {
        // One append of four ~40 KB batches is one group, written in more than one gather write; the second fails.
        var writes = 0;
        var failAt = int.MaxValue;
        void WriteAt(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long position)
        {
            if (++writes == failAt)
            {
                RandomAccess.Write(file, buffers[0].Span, position);
                throw new IOException("No space left on device");
            }

            RandomAccess.Write(file, buffers, position);
        }

        var options = new CommitLogOptions { DataDirectory = _dir.Path, WriteAt = WriteAt };
        var big = Enumerable.Range(0, 4).SelectMany(i => TestBatches.Make(2 + i, 1, valueBytes: 40_000)).ToArray();
        await using (var log = CommitLog.Open(options))
        {
            log.CreateTopic("t", 1);
            Assert.Equal(0, (await log.AppendAsync("t", 0, TestBatches.Make(0, 2))).BaseOffset);
            var before = new FileInfo(Path.Combine(_dir.Path, "t-0", $"{0:D20}.log")).Length;

            failAt = writes + 2;
            var failed = await log.AppendAsync("t", 0, big);
            Assert.Equal(LogError.StorageError, failed.Error);
            Assert.True(writes >= failAt, "the group went in one write; the test needs it to take two or more");
            Assert.Equal(2, log.GetOffsets("t", 0).HighWatermark);
            Assert.Equal(["k0", "k1"], TestBatches.ReadAll(log, "t", 0).Select(r => TestBatches.Text(r.Key)));
            Assert.Equal(before, new FileInfo(Path.Combine(_dir.Path, "t-0", $"{0:D20}.log")).Length);

            failAt = int.MaxValue;
            Assert.Equal(2, (await log.AppendAsync("t", 0, big)).BaseOffset);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.Equal(["k0", "k1", "k2", "k3", "k4", "k5"], TestBatches.ReadAll(reopened, "t", 0).Select(r => TestBatches.Text(r.Key)));
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
