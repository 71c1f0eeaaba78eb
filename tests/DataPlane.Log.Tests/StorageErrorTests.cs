using DataPlane.Log.Storage;
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

    [Fact]
    public async Task FullDisk_WhenARollCannotReserveTheNewIndexes_FailsTheAppend_LeavesNoNewSegment_AndTheLogKeepsWorking()
    {
        var disk = new Disk { Full = false };
        var options = new CommitLogOptions { DataDirectory = _dir.Path, Preallocate = disk.Preallocate };
        var folder = Path.Combine(_dir.Path, "t-0");
        await using (var log = CommitLog.Open(options))
        {
            // A ~700 B batch fills most of a 1024 B segment: the next one rolls.
            log.CreateTopic("t", 1, new TopicConfig { SegmentBytes = 1024 });
            Assert.Equal(0, (await log.AppendAsync("t", 0, TestBatches.Make(0, 1, valueBytes: 600))).BaseOffset);

            disk.Full = true;
            var failed = await log.AppendAsync("t", 0, TestBatches.Make(1, 1, valueBytes: 600));
            Assert.Equal(LogError.StorageError, failed.Error);
            Assert.Equal(1, log.GetOffsets("t", 0).HighWatermark);
            Assert.Equal(["k0"], TestBatches.ReadAll(log, "t", 0).Select(r => TestBatches.Text(r.Key)));
            Assert.Equal([$"{0:D20}.index", $"{0:D20}.log", $"{0:D20}.timeindex"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());

            disk.Full = false;
            Assert.Equal(1, (await log.AppendAsync("t", 0, TestBatches.Make(1, 1, valueBytes: 600))).BaseOffset);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.Equal(["k0", "k1"], TestBatches.ReadAll(reopened, "t", 0).Select(r => TestBatches.Text(r.Key)));
    }

    [Fact]
    public async Task FullDisk_WhenANewTopicCannotReserveItsIndexes_FailsTheCreate_AndNoTopicIsLeft()
    {
        var disk = new Disk { Full = true };
        var options = new CommitLogOptions { DataDirectory = _dir.Path, Preallocate = disk.Preallocate };
        await using (var log = CommitLog.Open(options))
        {
            Assert.Equal(LogError.StorageError, log.CreateTopic("t", 2));
            Assert.Equal(0, log.GetPartitionCount("t"));

            disk.Full = false;
            Assert.Equal(LogError.None, log.CreateTopic("t", 2));
            Assert.Equal(0, (await log.AppendAsync("t", 1, TestBatches.Make(0, 1))).BaseOffset);
        }

        await using var reopened = CommitLog.Open(options);
        Assert.Equal(2, reopened.GetPartitionCount("t"));
        Assert.Equal(["k0"], TestBatches.ReadAll(reopened, "t", 1).Select(r => TestBatches.Text(r.Key)));
    }

    [Fact]
    public async Task FullDisk_AtStart_TheLogOpens_ReadsEverything_AndAppendsFailUntilThereIsRoom()
    {
        var disk = new Disk { Full = false };
        var options = new CommitLogOptions { DataDirectory = _dir.Path, Preallocate = disk.Preallocate };
        await using (var log = CommitLog.Open(options))
        {
            log.CreateTopic("t", 1, new TopicConfig { IndexIntervalBytes = 64 });
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(i, (await log.AppendAsync("t", 0, TestBatches.Make(i, 1, valueBytes: 100))).BaseOffset);
            }
        }

        // The clean close cut the indexes to their entries: this start cannot give them room again.
        disk.Full = true;
        await using (var log = CommitLog.Open(options))
        {
            Assert.Equal(["k0", "k1", "k2", "k3"], TestBatches.ReadAll(log, "t", 0).Select(r => TestBatches.Text(r.Key)));
            Assert.Equal(LogError.StorageError, (await log.AppendAsync("t", 0, TestBatches.Make(4, 1, valueBytes: 100))).Error);
            Assert.Equal(4, log.GetOffsets("t", 0).HighWatermark);

            disk.Full = false;
            Assert.Equal(4, (await log.AppendAsync("t", 0, TestBatches.Make(4, 1, valueBytes: 100))).BaseOffset);
        }

        disk.Full = true;
        await using var reopened = CommitLog.Open(options);
        Assert.Equal(["k0", "k1", "k2", "k3", "k4"], TestBatches.ReadAll(reopened, "t", 0).Select(r => TestBatches.Text(r.Key)));
    }

    [Fact]
    public async Task Open_WhenATopicFailsToOpen_ClosesTheTopicsItAlreadyOpened()
    {
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path }))
        {
            log.CreateTopic("a", 1);
            log.CreateTopic("b", 1);
        }

        var openedA = false;
        void Preallocate(SafeFileHandle file, long length)
        {
            var path = File.ResolveLinkTarget($"/proc/self/fd/{file.DangerousGetHandle()}", returnFinalTarget: false)!.FullName;
            if (path.Contains("b-0", StringComparison.Ordinal))
            {
                throw new UnauthorizedAccessException($"{path}: permission denied");
            }

            openedA |= path.Contains("a-0", StringComparison.Ordinal);
            Preallocation.Reserve(file, length);
        }

        var options = new CommitLogOptions { DataDirectory = _dir.Path, Preallocate = Preallocate };
        Assert.Throws<UnauthorizedAccessException>(() => CommitLog.Open(options));
        Assert.True(openedA); // "a" was opened first, so there was something to close
        Assert.Empty(OpenFiles());
    }

    /// <summary>The preallocation hook of a disk that can be made full and given room again.</summary>
    private sealed class Disk
    {
        public bool Full { get; set; }

        public void Preallocate(SafeFileHandle file, long length)
        {
            if (Full)
            {
                throw new IOException("No space left on device");
            }

            Preallocation.Reserve(file, length);
        }
    }

    /// <summary>The files under the test's directory this process holds open (Linux: /proc/self/fd).</summary>
    private List<string> OpenFiles()
    {
        var open = new List<string>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName is { } target && target.StartsWith(_dir.Path, StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // the descriptor closed while the directory was listed
            }
        }

        return open;
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
