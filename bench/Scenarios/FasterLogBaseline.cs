using System.Diagnostics;
using FASTER.core;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The FasterLog baseline (<c>Microsoft.FASTER.Core</c>): producers enqueue ~16 KiB of records per call (one
/// <see cref="IReadOnlySpanBatch"/>, the batching the log and the FileStream get), a committer thread commits
/// every millisecond, and a record counts once a commit covering it has completed.
/// </summary>
/// <remarks>
/// The earlier version enqueued record by record into 4 MiB pages and 64 MiB of memory with no window: it
/// ran at 0.35-0.6 M records/s whatever the record size (35-48 MB/s at 100 B, 560-580 MB/s at 1 KiB, the
/// "tenfold swing"), and once its memory filled, its producers spun in <c>Enqueue</c> on the 2 cores the
/// flush and commit needed. Now: the page size FASTER's tuning guide recommends keeping (2^25 = 32 MiB),
/// memory for every producer's window plus two pages, producers that block for their commit once their
/// window is full (never spinning in <c>Enqueue</c>), and a committer that waits for each commit on its
/// task instead of <c>Commit(spinWait: true)</c>'s spin.
/// What remains is FasterLog's own cost on Linux (strace and perf of this loop, 100 B, one producer): its
/// device opens the log and each commit file <c>O_SYNC</c> (a new <c>commit.N.0</c> per commit), a commit
/// writes its pages as one synchronous write each (32 MiB at a time once the window fills), and clearing
/// pages for reuse took ~15% of its CPU samples; it spends 4-7 ms of CPU per MB where the log spends 1-2,
/// so on a loaded machine its figure still moves more than the others'.
/// </remarks>
internal static class FasterLogBaseline
{
    private const int PageSizeBits = 25;

    /// <summary>
    /// Runs for <paramref name="duration"/>, then commits; returns records per second, the clock stopped after
    /// the commit covering the last record completed.
    /// </summary>
    /// <param name="directory">Where the log goes.</param>
    /// <param name="recordBytes">Payload bytes per record.</param>
    /// <param name="recordsPerBatch">Records enqueued per call.</param>
    /// <param name="producers">Producer threads.</param>
    /// <param name="duration">How long the producers run.</param>
    /// <param name="windowBytes">Bytes a producer may have enqueued and not yet committed.</param>
    public static double Run(string directory, int recordBytes, int recordsPerBatch, int producers, TimeSpan duration, long windowBytes)
    {
        var memoryBits = PageSizeBits + 1;
        while ((1L << memoryBits) < (producers * windowBytes) + (2L << PageSizeBits))
        {
            memoryBits++;
        }

        using var settings = new FasterLogSettings(Path.Combine(directory, "fasterlog"))
        {
            PageSizeBits = PageSizeBits,
            MemorySizeBits = memoryBits,
            SegmentSizeBits = 30,
        };
        using var log = new FasterLog(settings);
        var batch = new RepeatedRecord(recordBytes, recordsPerBatch);
        var batchBytes = (long)recordsPerBatch * (recordBytes + 4); // FasterLog's 4-byte length header per entry
        var stopProducers = 0;
        var stopCommitter = 0;
        var records = 0L;
        var threads = new List<Thread>();
        for (var p = 0; p < producers; p++)
        {
            threads.Add(new Thread(() =>
            {
                var mine = 0L;
                var uncommitted = new Queue<long>();
                while (Volatile.Read(ref stopProducers) == 0)
                {
                    log.Enqueue(batch);
                    mine += recordsPerBatch;
                    uncommitted.Enqueue(log.TailAddress); // at or past the end of this producer's batch
                    while (uncommitted.Count > 0 && uncommitted.Peek() <= log.CommittedUntilAddress)
                    {
                        uncommitted.Dequeue();
                    }

                    if (uncommitted.Count * batchBytes > windowBytes)
                    {
                        WaitForCommit(log, uncommitted.Dequeue());
                    }
                }

                Interlocked.Add(ref records, mine);
            }));
        }

        // Runs until the producers have stopped: a producer waiting for its commit always gets one.
        var committer = new Thread(() =>
        {
            while (Volatile.Read(ref stopCommitter) == 0)
            {
                Commit(log);
                Thread.Sleep(1);
            }
        });

        var clock = Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        committer.Start();
        Thread.Sleep(duration);
        Volatile.Write(ref stopProducers, 1);
        threads.ForEach(t => t.Join());
        Volatile.Write(ref stopCommitter, 1);
        committer.Join();
        Commit(log);
        return records / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Commits the log up to its tail and blocks until that commit completed.</summary>
    private static void Commit(FasterLog log)
    {
        var tail = log.TailAddress; // the commit covers at least this much
        log.Commit();
        WaitForCommit(log, tail);
    }

    /// <summary>Blocks, without spinning, until a commit has covered <paramref name="address"/>.</summary>
    private static void WaitForCommit(FasterLog log, long address)
    {
        if (log.CommittedUntilAddress < address && !log.WaitForCommitAsync(address).AsTask().Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException($"FasterLog did not commit up to {address} within 60 s.");
        }
    }

    /// <summary>The same record <c>count</c> times: one enqueue call for a batch's worth.</summary>
    private sealed class RepeatedRecord : IReadOnlySpanBatch
    {
        private readonly byte[] _record;
        private readonly int _count;

        public RepeatedRecord(int recordBytes, int count)
        {
            _record = new byte[recordBytes];
            Random.Shared.NextBytes(_record);
            _count = count;
        }

        public int TotalEntries() => _count;

        public ReadOnlySpan<byte> Get(int index) => _record;
    }
}
