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

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
