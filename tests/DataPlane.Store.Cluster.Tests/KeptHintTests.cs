using System.Text;
using DataPlane.Store.Hints;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Hints nobody counts (<see cref="HintStore.Keep"/>) off fsync always: kept on an event loop in its round
/// (here the test's thread, after <see cref="HintStore.BeginRound"/>), batched per node and written by the
/// round's end (<see cref="HintStore.WriteOut"/>), the heartbeat's sync, a handoff's seal, a full batch or
/// the store's closing; anywhere else written at once. Pending from the moment they are kept, and in the
/// file in the order they came, with the hints that count written at once between them.
/// </summary>
public sealed class KeptHintTests
{
    private static readonly byte[] Stored = new byte[StoredValue.HeaderSize + 10];

    [Fact]
    public async Task KeptHints_AreWrittenByTheRoundsWriteOut_NotBefore_AndPendingAtOnce()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            hints.BeginRound();
            Keep(hints, "k0", "k1", "k2");
            Assert.Equal(3, hints.PendingFor("c"));
            Assert.Empty(Directory.GetFiles(directory, "c.*"));

            hints.WriteOut();
            Assert.Equal(["k0", "k1", "k2"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal((3, 1), (hints.PendingFor("c"), hints.Writes));

            // The round has ended: a hint kept now, as one a send's failure leaves, is written at once.
            Keep(hints, "k3");
            Assert.Equal(["k0", "k1", "k2", "k3"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task KeptHints_OffAnEventLoopsRound_AreWrittenAtOnce()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            Keep(hints, "k0", "k1");
            Assert.Equal(["k0", "k1"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal((2, 2), (hints.PendingFor("c"), hints.Writes));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task HintsKeptByLoopsAndPoolThreadsAtOnce_AreEachWrittenOnce()
    {
        await HintTests.WithHintStoreAsync(async (hints, _) =>
        {
            // Two "loops" keep hints in rounds of 50 and write them out; two other threads keep theirs at once.
            var writers = Enumerable.Range(0, 4).Select(w => Task.Factory.StartNew(
                () =>
                {
                    for (var round = 0; round < 10; round++)
                    {
                        if (w < 2)
                        {
                            hints.BeginRound();
                        }

                        Keep(hints, [.. Enumerable.Range(0, 50).Select(i => $"w{w}:{round}:{i}")]);
                        hints.WriteOut();
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default));
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

            var expected = Enumerable.Range(0, 4).SelectMany(w => Enumerable.Range(0, 500).Select(i => $"w{w}:{i / 50}:{i % 50}")).Order();
            Assert.Equal(expected, HintTests.ReadKeys(Assert.Single(hints.Seal("c"))).Order());
            Assert.Equal(2000, hints.PendingFor("c"));
        });
    }

    [Fact]
    public async Task KeptAndCountedHints_AreInTheFileInTheOrderTheyCame()
    {
        await HintTests.WithHintStoreAsync(async (hints, _) =>
        {
            hints.BeginRound();
            Keep(hints, "k0");
            Assert.True(await hints.AddAsync("c", "counted"u8, Stored));
            Keep(hints, "k1");

            Assert.Equal(["k0", "counted", "k1"], HintTests.ReadKeys(Assert.Single(hints.Seal("c"))));
            Assert.Equal(3, hints.PendingFor("c"));
            hints.WriteOut();
        });
    }

    [Fact]
    public async Task KeptHints_AreWrittenAndSyncedByTheHeartbeatsSync()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            hints.BeginRound();
            Keep(hints, "k0");
            Assert.Empty(Directory.GetFiles(directory, "c.*"));
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
            hints.BeginRound();
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
    public async Task KeptHints_StillInTheBatch_AreWrittenWhenTheStoreCloses()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            hints.BeginRound();
            Keep(hints, "k0", "k1");
            hints.Dispose();

            using var reopened = new HintStore(directory, fsync: false);
            Assert.Equal(2, reopened.PendingFor("c"));
            Assert.Equal(["k0", "k1"], HintTests.ReadKeys(Assert.Single(reopened.Seal("c"))));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task KeptHintsOfANodeThatLeft_AreDroppedFromTheBatch_AndNeverWritten()
    {
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            hints.BeginRound();
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
            hints.BeginRound();
            Keep(hints, "refused0", "refused1");
            hints.WriteOut();
            Assert.Equal((0, 0, 2), (hints.PendingFor("c"), hints.Writes, hints.Refused));

            File.Delete(full);
            hints.BeginRound();
            Keep(hints, "later");
            hints.WriteOut();
            Assert.Equal(["later"], HintTests.ReadKeys(Assert.Single(Directory.GetFiles(directory, "c.*"))));
            Assert.Equal(1, hints.PendingFor("c"));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task RefusedBatches_AreLoggedOnce_UntilOneIsWritten()
    {
        var logger = new CountingLogger();
        await HintTests.WithHintStoreAsync((hints, directory) =>
        {
            // Files 1-3 and 5 are /dev/full (ENOSPC on every write); each refused batch goes to the next file.
            int[] devFull = [1, 2, 3, 5];
            foreach (var sequence in devFull)
            {
                File.CreateSymbolicLink(Path.Combine(directory, $"c.{sequence:D10}.hints"), "/dev/full");
            }

            var logged = new List<int>();
            string[] keys = ["r1", "r2", "r3", "written", "r5"];
            foreach (var key in keys)
            {
                hints.BeginRound();
                Keep(hints, key);
                hints.WriteOut();
                logged.Add(logger.Warnings);
                if (key == "written")
                {
                    // Handed off: the next batch goes to a new file, file 5.
                    hints.Seal("c");
                }
            }

            Assert.Equal([1, 1, 1, 1, 2], logged);
            Assert.Equal((1, 4), (hints.Writes, hints.Refused));
            return Task.CompletedTask;
        }, logger: logger);
    }

    [Fact]
    public async Task CoordinatorsHintsForADownReplica_AreWrittenABatchARound_NotACallEach()
    {
        // Heartbeats a second apart: each syncs (and so writes out) the hints, and one landing among the SETs
        // would hide a loop that never writes its round's hints; c is found down by its connection's end.
        await using var cluster = await TestCluster.StartAsync(configure: o => o.HeartbeatInterval = TimeSpan.FromSeconds(1));
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");
        var hints = cluster.Server("a").ClusterNode!.Hints;
        var before = hints.Writes;

        // One batch: the 200 SETs reach node a's loop in a receive or a few, and each round writes its hints with one call.
        var batch = cluster.Db("a").CreateBatch();
        var sets = Enumerable.Range(0, 200).Select(i => batch.StringSetAsync($"k{i}", "v")).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);

        Assert.Equal(200, hints.PendingFor("c"));
        Assert.InRange(hints.Writes - before, 1, 20);
    }

    private static void Keep(HintStore hints, params string[] keys)
    {
        foreach (var key in keys)
        {
            hints.Keep("c", Encoding.ASCII.GetBytes(key), Stored);
        }
    }

    /// <summary>Counts the warnings logged to it.</summary>
    private sealed class CountingLogger : ILogger
    {
        private int _warnings;

        public int Warnings => Volatile.Read(ref _warnings);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Interlocked.Increment(ref _warnings);
            }
        }
    }
}
