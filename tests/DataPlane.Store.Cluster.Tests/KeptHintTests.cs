using System.Text;
using DataPlane.Store.Hints;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Hints nobody counts (<see cref="HintStore.Keep"/>) off fsync always: batched per node, and written by
/// the end of the loop's round (<see cref="HintStore.WriteOut"/>), the heartbeat's sync, a handoff's seal,
/// a full batch or the store's closing; pending from the moment they are kept, and in the file in the
/// order they came, with the hints that count written at once between them.
/// </summary>
public sealed class KeptHintTests
{
    private static readonly byte[] Stored = new byte[StoredValue.HeaderSize + 10];

    [Fact]
    public async Task KeptHints_AreWrittenByTheRoundsWriteOut_NotBefore_AndPendingAtOnce()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            Keep(hints, "k0", "k1", "k2");
            Assert.Equal(3, hints.PendingFor("c"));
            Assert.Empty(Directory.GetFiles(directory, "c.*"));

            hints.WriteOut();
            Assert.Equal(["k0", "k1", "k2"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal(3, hints.PendingFor("c"));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task KeptAndCountedHints_AreInTheFileInTheOrderTheyCame()
    {
        await HintTests.WithHintStoreAsync(async (hints, _) =>
        {
            Keep(hints, "k0");
            Assert.True(await hints.AddAsync("c", "counted"u8, Stored));
            Keep(hints, "k1");

            Assert.Equal(["k0", "counted", "k1"], HintTests.ReadKeys(Assert.Single(hints.Seal("c"))));
            Assert.Equal(3, hints.PendingFor("c"));
        });
    }

    [Fact]
    public async Task KeptHints_AreWrittenAndSyncedByTheHeartbeatsSync()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            Keep(hints, "k0");
            Assert.Equal(1, hints.SyncWritten());
            Assert.Equal(["k0"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal(0, hints.SyncWritten());
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task AFullBatch_IsWrittenWithoutWaitingForTheRound()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            // Some 54 bytes a hint: 3000 fill a 64 KiB batch twice over, and each full batch is written at once.
            var keys = Enumerable.Range(0, 3000).Select(i => "key:" + i).ToArray();
            Keep(hints, keys);

            var written = HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*")));
            Assert.InRange(written.Count, 1, keys.Length - 1);
            Assert.Equal(keys.Take(written.Count), written);
            hints.WriteOut();
            Assert.Equal(keys, HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void KeptHints_StillInTheBatch_AreWrittenWhenTheStoreCloses()
    {
        var root = Directory.CreateTempSubdirectory("dataplane-kept-hints-").FullName;
        try
        {
            var directory = Path.Combine(root, "hints");
            using (var hints = new HintStore(directory, fsync: false))
            {
                Keep(hints, "k0", "k1");
            }

            using var reopened = new HintStore(directory, fsync: false);
            Assert.Equal(2, reopened.PendingFor("c"));
            Assert.Equal(["k0", "k1"], HintTests.ReadKeys(Assert.Single(reopened.Seal("c"))));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task KeptHintsOfANodeThatLeft_AreDroppedFromTheBatch_AndNeverWritten()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            Keep(hints, "k0", "k1");
            Assert.Equal(2, hints.Discard("c"));
            hints.WriteOut();

            Assert.Empty(Directory.GetFiles(directory, "c.*"));
            Assert.Equal((0, 2), (hints.PendingFor("c"), hints.Dropped));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task KeptHints_TheDiskRefuses_AreNoLongerPending_AndTheNextGoToANewFile()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            // The first file is /dev/full: every write to it fails with ENOSPC.
            var full = Path.Combine(directory, "c.0000000001.hints");
            File.CreateSymbolicLink(full, "/dev/full");
            Keep(hints, "refused0", "refused1");
            hints.WriteOut();
            Assert.Equal(0, hints.PendingFor("c"));

            File.Delete(full);
            Keep(hints, "later");
            hints.WriteOut();
            Assert.Equal(["later"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal(1, hints.PendingFor("c"));
            return Task.CompletedTask;
        });
    }

    private static void Keep(HintStore hints, params string[] keys)
    {
        foreach (var key in keys)
        {
            hints.Keep("c", Encoding.ASCII.GetBytes(key), Stored);
        }
    }
}
