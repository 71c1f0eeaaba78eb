using System.Buffers.Binary;
using System.Diagnostics;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The plain baseline: producers append length-prefixed records to one buffered <see cref="FileStream"/>
/// (one lock per ~16 KiB of records, the batching the log gets), and a flusher fsyncs every millisecond.
/// </summary>
/// <remarks>
/// Both modes count only durable records: the clock stops after the fsync that follows the producers' last
/// write has returned. With no window (<c>windowBytes</c> 0) producers never wait for an fsync, so they write
/// at page-cache speed and the flusher's fsyncs grow to ~100 MB each (4-5 a second on the bench machine, not
/// one a millisecond): the disk's pace for a writer with unbounded memory. With a window it follows the
/// log's acknowledgement rule: a batch counts once the fsync covering it has returned, and a producer with
/// that many bytes unacknowledged waits for its oldest batch, as the log's producers do.
/// </remarks>
internal static class FileStreamLogBaseline
{
    /// <summary>Runs for <paramref name="duration"/>, then fsyncs; returns durable records per second.</summary>
    /// <param name="directory">Where the file goes.</param>
    /// <param name="recordBytes">Payload bytes per record.</param>
    /// <param name="recordsPerBatch">Records written under one lock.</param>
    /// <param name="producers">Producer threads.</param>
    /// <param name="duration">How long the producers run.</param>
    /// <param name="windowBytes">0: producers never wait; otherwise the bytes a producer may have written and not yet synced.</param>
    public static double Run(string directory, int recordBytes, int recordsPerBatch, int producers, TimeSpan duration, long windowBytes = 0)
    {
        var inFlightBatches = (int)Math.Min(windowBytes / ((long)recordsPerBatch * (4 + recordBytes)), int.MaxValue);
        if (windowBytes > 0)
        {
            inFlightBatches = Math.Max(inFlightBatches, 1);
        }

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
                var waiting = new Queue<long>();
                while (Volatile.Read(ref stop) == 0)
                {
                    if (inFlightBatches > 0 && waiting.Count == inFlightBatches)
                    {
                        if (!synced.WaitFor(waiting.Peek(), ref stop))
                        {
                            break;
                        }

                        waiting.Dequeue();
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

                mine += (long)waiting.Count * recordsPerBatch; // written; the final fsync, inside the clock, covers them
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
