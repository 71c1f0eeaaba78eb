using System.Buffers.Binary;
using System.Diagnostics;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The plain baseline: producers append length-prefixed records to one buffered <see cref="FileStream"/>
/// (one lock per ~16 KiB of records, the batching the log gets), and a flusher fsyncs every millisecond.
/// </summary>
/// <remarks>
/// By default producers never wait for an fsync, so the baseline runs at page-cache speed while fsyncs of
/// ~100 MB each (4-5 a second on the bench machine, not one a millisecond) keep the disk behind it. With
/// <c>inFlightBatches</c> it follows the log's acknowledgement rule instead: a batch counts once the fsync
/// covering it has returned, and a producer has at most that many batches waiting, as the log's producers do.
/// </remarks>
internal static class FileStreamLogBaseline
{
    /// <summary>Runs for <paramref name="duration"/>; returns records appended (or, with a window, acknowledged) per second.</summary>
    /// <param name="directory">Where the file goes.</param>
    /// <param name="recordBytes">Payload bytes per record.</param>
    /// <param name="recordsPerBatch">Records written under one lock.</param>
    /// <param name="producers">Producer threads.</param>
    /// <param name="duration">How long the producers run.</param>
    /// <param name="inFlightBatches">0: producers never wait; otherwise each waits for the fsync covering its oldest batch at this many.</param>
    public static double Run(string directory, int recordBytes, int recordsPerBatch, int producers, TimeSpan duration, int inFlightBatches = 0)
    {
        var path = Path.Combine(directory, "filestream.log");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var gate = new Lock();
        var synced = new SyncedPosition();
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
                var waiting = new Queue<long>(Math.Max(inFlightBatches, 1));
                while (Volatile.Read(ref stop) == 0)
                {
                    if (inFlightBatches > 0 && waiting.Count == inFlightBatches)
                    {
                        if (!synced.WaitFor(waiting.Dequeue(), ref stop))
                        {
                            break;
                        }

                        mine += recordsPerBatch;
                    }

                    long end;
                    lock (gate)
                    {
                        for (var i = 0; i < recordsPerBatch; i++)
                        {
                            file.Write(record);
                        }

                        end = file.Position;
                    }

                    if (inFlightBatches > 0)
                    {
                        waiting.Enqueue(end);
                    }
                    else
                    {
                        mine += recordsPerBatch;
                    }
                }

                Interlocked.Add(ref records, mine);
            }));
        }

        var flusher = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                long position;
                lock (gate)
                {
                    file.Flush(flushToDisk: false);
                    position = file.Position;
                }

                RandomAccess.FlushToDisk(file.SafeFileHandle);
                synced.Advance(position);
                Thread.Sleep(1);
            }

            synced.Advance(long.MinValue); // wakes producers still waiting; they see the stop flag
        });

        var clock = Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        flusher.Start();
        Thread.Sleep(duration);
        Volatile.Write(ref stop, 1);
        flusher.Join();
        threads.ForEach(t => t.Join());
        lock (gate)
        {
            file.Flush(flushToDisk: true);
        }

        return records / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The file position the last fsync covered, and the producers waiting for it to pass theirs.</summary>
    private sealed class SyncedPosition
    {
        private readonly object _gate = new(); // Monitor.Wait/PulseAll need an object, not a Lock
        private long _position;

        public void Advance(long position)
        {
            lock (_gate)
            {
                _position = Math.Max(_position, position);
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits until an fsync has covered <paramref name="end"/>; false if the run stopped first.</summary>
        public bool WaitFor(long end, ref int stop)
        {
            lock (_gate)
            {
                while (_position < end)
                {
                    if (Volatile.Read(ref stop) != 0)
                    {
                        return false;
                    }

                    Monitor.Wait(_gate, 100);
                }

                return true;
            }
        }
    }
}
