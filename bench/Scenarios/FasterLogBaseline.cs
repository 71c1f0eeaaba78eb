using System.Diagnostics;
using FASTER.core;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The FasterLog baseline (<c>Microsoft.FASTER.Core</c>): producers enqueue each record, a committer thread
/// commits (and so syncs) every millisecond.
/// </summary>
internal static class FasterLogBaseline
{
    /// <summary>Runs for <paramref name="duration"/>; returns records appended per second.</summary>
    public static double Run(string directory, int recordBytes, int producers, TimeSpan duration)
    {
        using var settings = new FasterLogSettings(Path.Combine(directory, "fasterlog"))
        {
            PageSizeBits = 22,
            MemorySizeBits = 26,
            SegmentSizeBits = 30,
        };
        using var log = new FasterLog(settings);
        var record = new byte[recordBytes];
        Random.Shared.NextBytes(record);
        var stop = 0;
        var records = 0L;
        var threads = new List<Thread>();
        for (var p = 0; p < producers; p++)
        {
            threads.Add(new Thread(() =>
            {
                var mine = 0L;
                while (Volatile.Read(ref stop) == 0)
                {
                    for (var i = 0; i < 64; i++)
                    {
                        log.Enqueue(record);
                    }

                    mine += 64;
                }

                Interlocked.Add(ref records, mine);
            }));
        }

        var committer = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                log.Commit(spinWait: true);
                Thread.Sleep(1);
            }
        });

        var clock = Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        committer.Start();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, 1);
        threads.ForEach(t => t.Join());
        committer.Join();
        log.Commit(spinWait: true);
        return records / clock.Elapsed.TotalSeconds;
    }
}
