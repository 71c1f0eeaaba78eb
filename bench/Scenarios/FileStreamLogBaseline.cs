using System.Buffers.Binary;
using System.Diagnostics;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The plain baseline: producers append length-prefixed records to one buffered <see cref="FileStream"/>
/// (one lock per ~16 KiB of records, the batching the log gets), and a flusher fsyncs every millisecond.
/// </summary>
internal static class FileStreamLogBaseline
{
    /// <summary>Runs for <paramref name="duration"/>; returns records appended per second.</summary>
    public static double Run(string directory, int recordBytes, int recordsPerBatch, int producers, TimeSpan duration)
    {
        var path = Path.Combine(directory, "filestream.log");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var gate = new Lock();
        var record = new byte[4 + recordBytes];
        BinaryPrimitives.WriteInt32BigEndian(record, recordBytes);
        Random.Shared.NextBytes(record.AsSpan(4));
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
                    lock (gate)
                    {
                        for (var i = 0; i < recordsPerBatch; i++)
                        {
                            file.Write(record);
                        }
                    }

                    mine += recordsPerBatch;
                }

                Interlocked.Add(ref records, mine);
            }));
        }

        var flusher = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                lock (gate)
                {
                    file.Flush(flushToDisk: false);
                }

                RandomAccess.FlushToDisk(file.SafeFileHandle);
                Thread.Sleep(1);
            }
        });

        var clock = Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        flusher.Start();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, 1);
        threads.ForEach(t => t.Join());
        flusher.Join();
        lock (gate)
        {
            file.Flush(flushToDisk: true);
        }

        return records / clock.Elapsed.TotalSeconds;
    }
}
