using System.Diagnostics;
using DataPlane.Store.Hints;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// The group-commit writer (fsync always) meeting what no disk's refusal explains: a write that throws
/// something other than an IOException refuses its batch alone, and a bug in a sync refuses its whole
/// round without leaving any hint file open.
/// </summary>
public sealed class HintWriterFailureTests
{
    private static readonly byte[] Stored = new byte[StoredValue.HeaderSize + 10];

    [Fact]
    public async Task BatchWhoseWriteThrowsANonIOException_IsRefused_AndTheNextBatchIsKept()
    {
        await HintTests.WithHintStoreAsync(async (hints, directory) =>
        {
            // The first file is a FIFO, held open for reading so that opening it to write does not block: a pipe
            // has no position, and asking for it throws NotSupportedException, not an IOException.
            var fifo = Path.Combine(directory, "c.0000000001.hints");
            using (var mkfifo = Process.Start("mkfifo", fifo))
            {
                Assert.True(mkfifo.WaitForExit(10_000), "mkfifo exited");
                Assert.Equal(0, mkfifo.ExitCode);
            }

            using var reader = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite);

            // Not kept: a coordinator does not count it toward W.
            Assert.False(await hints.AddAsync("c", "refused"u8, Stored).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal((0, 1), (hints.PendingFor("c"), hints.Refused));

            // The writer goes on: the next batch is kept, in a new file.
            Assert.True(await hints.AddAsync("c", "later"u8, Stored).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, hints.PendingFor("c"));
            Assert.Equal(["later"], HintTests.ReadKeys(hints.Seal("c")[^1]));
        }, fsync: true);
    }

    [Fact]
    public async Task BugInASync_RefusesEveryBatchOfItsRound_AndLeavesNoHintFileOpen()
    {
        // The first round's sync is held while hints for b and c form the next round, whose first sync throws as a bug would.
        using var sync = new HeldSync(hold: 1, fails: call => call >= 2, bug: true);
        var root = Directory.CreateTempSubdirectory("dataplane-hints-").FullName;
        var directory = Path.Combine(root, "hints");
        try
        {
            using (var hints = new HintStore(directory, fsync: true, sync: sync.Sync))
            {
                var first = hints.AddAsync("a", "first"u8, Stored).AsTask();
                Assert.True(await sync.StartedAsync(), "the first round's sync started");
                Task<bool>[] round = [hints.AddAsync("b", "b"u8, Stored).AsTask(), hints.AddAsync("c", "c"u8, Stored).AsTask()];
                sync.Release();

                Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10)));
                Assert.All(await Task.WhenAll(round).WaitAsync(TimeSpan.FromSeconds(10)), Assert.False);
                Assert.Equal(2, sync.Calls);

                // The check below sees the hint files this process holds open (a path through a symlink would hide them).
                Assert.NotEmpty(OpenFilesUnder(directory));
            }

            // Closed: no descriptor of this process still points into the hints directory.
            Assert.Empty(OpenFilesUnder(directory));
        }
        finally
        {
            sync.Release();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The files this process holds open under <paramref name="directory"/> (Linux: the links of /proc/self/fd).</summary>
    private static List<string> OpenFilesUnder(string directory)
    {
        var open = new List<string>();
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith(directory + "/", StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // Closed since it was listed (another test's file): not one of ours.
            }
        }

        return open;
    }
}
