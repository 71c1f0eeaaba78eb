using System.Diagnostics;
using DataPlane.Log;
using DataPlane.Log.Records;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The commit log: durable append throughput against a FileStream with an fsync every millisecond and
/// FasterLog committing every millisecond (same records, same run, every system's clock stopped only once
/// what it counts is durable), the log's throughput against its producers' window, page-cache scan, and
/// recovery time.
/// </summary>
internal sealed partial class LogScenario : IScenario
{
    private const int BatchBytes = 16 * 1024;

    /// <summary>
    /// Unacknowledged bytes per producer: Kafka's <c>buffer.memory</c> default, what a Kafka producer's
    /// <c>send()</c> accepts before it blocks for acknowledgements.
    /// </summary>
    private const long WindowBytes = 32L << 20;
    private const int Rounds = 2;

    public string Name => "log";

    public string Description => "commit log: durable append vs FileStream group fsync and FasterLog, window sweep, scan MB/s, recovery s/GiB";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(context.Quick ? 1.5 : 5);
        var root = Path.Combine(Path.GetTempPath(), "dataplane-log-bench-" + Environment.ProcessId);
        var rows = new List<AppendRow>();
        try
        {
            foreach (var recordBytes in new[] { 100, 1024 })
            {
                foreach (var producers in new[] { 1, 2 })
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    rows.Add(await MeasureCell(root, recordBytes, producers, duration));
                }
            }

            var sweep = await SweepWindows(root, duration, cancellationToken);
            var fsync4 = DiskFsyncProbe.Run(Fresh(root, "probe"), 4 << 20, duration);
            var fsync32 = DiskFsyncProbe.Run(Fresh(root, "probe"), 32 << 20, duration);
            var writeback32 = DiskFsyncProbe.Run(Fresh(root, "probe"), 1 << 20, duration, 32 << 20, startWriteback: true);
            var dataBytes = context.Quick ? 256L << 20 : 1L << 30;
            var (scanMbps, fullSecondsPerGiB, tailSeconds) = await ScanAndRecover(Fresh(root, "scan"), dataBytes);
            var table = new Table("record B", "producers", "log MB/s", "log rec/s", "FileStream MB/s", "FasterLog MB/s",
                "log/FileStream", "log/FasterLog", "FileStream never waiting MB/s", "log/FileStream never waiting", "alloc B/append",
                "log CPU ms/MB", "FileStream CPU ms/MB");
            foreach (var r in rows)
            {
                table.Add(r.RecordBytes, r.Producers, r.Mbps, r.RecordsPerSec, r.FileStreamMbps, r.FasterLogMbps,
                    r.RatioToFileStream, r.RatioToFasterLog, r.FileStreamNeverWaitingMbps, r.RatioToFileStreamNeverWaiting,
                    r.AllocBytesPerAppend, r.CpuMsPerMB, r.FileStreamCpuMsPerMB);
            }

            var markdown = $"""
                Durable append, best of {Rounds} interleaved rounds of {duration.TotalSeconds:F1} s per cell, all three doing the same
                work: each clock stops only after the fsync (or FasterLog commit) covering the last record it counts has
                returned. The log with `FlushPolicy.Durable` (each append acknowledged after the fdatasync covering it; group
                commit; the writer starts writeback of every MiB it writes), producers appending ~16 KiB RecordBatch v2 batches with up to {WindowBytes >> 20} MiB unacknowledged
                each (Kafka's `buffer.memory` default: what a Kafka producer sends before it blocks for acknowledgements).
                "FileStream" (the issue's baseline doing the same work): length-prefixed records, one lock per ~16 KiB, a flusher
                fsyncing every 1 ms, each append acknowledged by the fsync that covers it, {WindowBytes >> 20} MiB unacknowledged per
                producer, as the log's. "FileStream never waiting": the same with producers that never wait for an acknowledgement
                (only the clock waits for the last fsync), so its fsyncs grow to ~100 MB: the disk's pace for a writer with
                unbounded memory that acknowledges nothing, shown for scale.
                FasterLog (Microsoft.FASTER.Core 2.6.5): ~16 KiB of records per `Enqueue` batch, 32 MiB pages, a commit every
                1 ms, {WindowBytes >> 20} MiB uncommitted per producer. MB/s counts record payload bytes (10^6 B/s). CPU ms/MB:
                the process's CPU time per MB of records over the timed run (the log's after its 1 s warm-up), steadier
                than MB/s on a shared machine. alloc B/append: the process's allocations per append over the timed run (the
                indexes live in their memory-mapped files, not on the heap).

                {table}
                The producers' window, 100 B records, 1 producer (the log and the FileStream under the same window, best of {Rounds}); the
                disk's own bandwidth, one thread writing and fsyncing 4 MiB chunks: **{fsync4:F0} MB/s**, 32 MiB chunks:
                **{fsync32:F0} MB/s**; 1 MiB chunks with writeback started after each (`sync_file_range`, as the log's writer
                does) and an fsync every 32 MiB: **{writeback32:F0} MB/s** (whole bytes written, not only record payload).

                {WindowTable(sweep)}
                Scan from the page cache ({dataBytes >> 20} MiB, 1 MiB reads through `Read` + `FileSlice.CopyTo`): **{scanMbps:F0} MB/s**.
                Recovery after an unclean stop: tail check from the last index entry {tailSeconds * 1000:F1} ms; with the indexes
                lost (a full CRC scan and index rebuild, page cache warm): **{fullSecondsPerGiB:F2} s/GiB**.
                """;
            var json = new
            {
                append = rows.Select(r => new
                {
                    recordBytes = r.RecordBytes,
                    producers = r.Producers,
                    mbps = r.Mbps,
                    recordsPerSec = r.RecordsPerSec,
                    fileStreamMbps = r.FileStreamMbps,
                    fileStreamNeverWaitingMbps = r.FileStreamNeverWaitingMbps,
                    fasterLogMbps = r.FasterLogMbps,
                    ratioToFileStream = r.RatioToFileStream,
                    ratioToFileStreamNeverWaiting = r.RatioToFileStreamNeverWaiting,
                    ratioToFasterLog = r.RatioToFasterLog,
                    allocBytesPerAppend = r.AllocBytesPerAppend,
                    cpuMsPerMB = r.CpuMsPerMB,
                    fileStreamCpuMsPerMB = r.FileStreamCpuMsPerMB,
                }),
                windowBytes = WindowBytes,
                windows = sweep.Select(w => new { windowBytes = w.WindowBytes, mbps = w.Mbps, fileStreamMbps = w.FileStreamMbps, cpuMsPerMB = w.CpuMsPerMB }),
                diskFsyncMbps4MiB = fsync4,
                diskFsyncMbps32MiB = fsync32,
                diskWritebackMbps32MiB = writeback32,
                scanMbps,
                recoverySecondsPerGiB = fullSecondsPerGiB,
                tailRecoverySeconds = tailSeconds,
            };
            return new ScenarioReport(json, markdown);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>One row: rounds interleave the systems and each keeps its best round (the machine is shared and noisy).</summary>
    private static async Task<AppendRow> MeasureCell(string root, int recordBytes, int producers, TimeSpan duration)
    {
        var batch = BuildBatch(recordBytes, out var recordsPerBatch);
        double ours = 0, alloc = double.MaxValue, oursCpu = double.MaxValue;
        double fileStream = 0, fileStreamCpu = double.MaxValue, neverWaiting = 0, faster = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var (rate, allocated, cpuMsPerMB) = await RunLog(Fresh(root, "log"), batch, recordsPerBatch, recordBytes, producers, duration, WindowBytes);
            (ours, alloc, oursCpu) = (Math.Max(ours, rate), Math.Min(alloc, allocated), Math.Min(oursCpu, cpuMsPerMB));
            var cpu = CpuClock.Start();
            var baseline = FileStreamLogBaseline.Run(Fresh(root, "fs"), recordBytes, recordsPerBatch, producers, duration, WindowBytes);
            fileStreamCpu = Math.Min(fileStreamCpu, cpu.MsPerMB(baseline * recordBytes * duration.TotalSeconds));
            fileStream = Math.Max(fileStream, baseline);
            neverWaiting = Math.Max(neverWaiting, FileStreamLogBaseline.Run(Fresh(root, "fsfree"), recordBytes, recordsPerBatch, producers, duration));
            faster = Math.Max(faster, FasterLogBaseline.Run(Fresh(root, "faster"), recordBytes, recordsPerBatch, producers, duration, WindowBytes));
        }

        return new AppendRow(
            recordBytes, producers, Mbps(ours, recordBytes), ours,
            Mbps(fileStream, recordBytes), Mbps(neverWaiting, recordBytes), Mbps(faster, recordBytes),
            ours / fileStream, ours / neverWaiting, ours / faster, alloc, oursCpu, fileStreamCpu);
    }

    private static double Mbps(double recordsPerSec, int recordBytes) => recordsPerSec * recordBytes / 1e6;

    private static string Fresh(string root, string name)
    {
        var path = Path.Combine(root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        if (Directory.Exists(root))
        {
            foreach (var old in Directory.GetDirectories(root))
            {
                Directory.Delete(old, recursive: true);
            }
        }

        return Directory.CreateDirectory(path).FullName;
    }

    private static byte[] BuildBatch(int recordBytes, out int records)
    {
        using var builder = new RecordBatchBuilder(CompressionCodec.None, BatchBytes + 2048);
        var value = new byte[recordBytes];
        Random.Shared.NextBytes(value);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (builder.SizeInBytes + recordBytes + 8 <= BatchBytes)
        {
            builder.Add(null, value, now);
        }

        records = builder.Count;
        return builder.Build().ToArray();
    }

    /// <summary>
    /// Records per second, bytes allocated per append (whole process, all threads) and CPU ms per MB of records,
    /// all three over the timed run only, after a warm-up.
    /// </summary>
    private static async Task<(double RecordsPerSec, double AllocPerAppend, double CpuMsPerMB)> RunLog(
        string directory, byte[] batch, int recordsPerBatch, int recordBytes, int producers, TimeSpan duration, long windowBytes)
    {
        var inFlight = (int)Math.Max(1, windowBytes / batch.Length);
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = directory });
        log.CreateTopic("bench", 1);
        // Warm-up with every producer: JIT, file creation, and the partition's waiter pool grown to the
        // producers' whole window (pooled, so what the run then allocates per append is the append's own).
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(() => Producer(log, batch, TimeSpan.FromSeconds(1), inFlight))));
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = CpuClock.Start();
        var clock = Stopwatch.StartNew();
        var appends = await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(() => Producer(log, batch, duration, inFlight))));
        var seconds = clock.Elapsed.TotalSeconds;
        var total = appends.Sum();
        var alloc = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)total;
        return (total * recordsPerBatch / seconds, alloc, cpu.MsPerMB((double)total * recordsPerBatch * recordBytes));
    }

    /// <summary>Appends for <paramref name="duration"/> with up to <paramref name="window"/> appends unacknowledged; returns appends, all durable.</summary>
    private static async Task<long> Producer(CommitLog log, byte[] batch, TimeSpan duration, int window)
    {
        var inFlight = new Queue<ValueTask<AppendResult>>(window);
        var clock = Stopwatch.StartNew();
        var appends = 0L;
        while (clock.Elapsed < duration)
        {
            if (inFlight.Count == window)
            {
                Check(await inFlight.Dequeue());
            }

#pragma warning disable CA2012 // a producer pipeline: each queued ValueTask is awaited exactly once, in order
            inFlight.Enqueue(log.AppendAsync("bench", 0, batch));
#pragma warning restore CA2012
            appends++;
        }

        while (inFlight.Count > 0)
        {
            Check(await inFlight.Dequeue());
        }

        return appends;
    }

    private static void Check(AppendResult result)
    {
        if (result.Error != LogError.None)
        {
            throw new InvalidOperationException($"append failed: {result.Error} {result.BatchError}");
        }
    }

    private static async Task<(double ScanMbps, double FullSecondsPerGiB, double TailSeconds)> ScanAndRecover(string directory, long dataBytes)
    {
        var batch = BuildBatch(1024, out _);
        var config = new TopicConfig { FlushPolicy = FlushPolicy.PageCache, SegmentBytes = 1L << 30, RetentionTime = null };
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = directory }))
        {
            log.CreateTopic("scan", 1, config);
            var pending = new Queue<ValueTask<AppendResult>>();
            for (var written = 0L; written < dataBytes; written += batch.Length)
            {
                if (pending.Count == 8)
                {
                    Check(await pending.Dequeue());
                }

#pragma warning disable CA2012 // each queued ValueTask is awaited exactly once, in order
                pending.Enqueue(log.AppendAsync("scan", 0, batch));
#pragma warning restore CA2012
            }

            while (pending.Count > 0)
            {
                Check(await pending.Dequeue());
            }
        }

        double scanMbps;
        var marker = Path.Combine(directory, ".clean-shutdown");
        await using (var log = CommitLog.Open(new CommitLogOptions { DataDirectory = directory }))
        {
            var best = double.MaxValue;
            var bytes = 0L;
            var buffer = new byte[1 << 20];
            for (var round = 0; round < 3; round++)
            {
                var clock = Stopwatch.StartNew();
                bytes = ScanAll(log, buffer);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }

            scanMbps = bytes / best / 1e6;
        }

        // Unclean stop: drop the marker; the open checks the tail from the last index entry.
        File.Delete(marker);
        var tail = Stopwatch.StartNew();
        await using (CommitLog.Open(new CommitLogOptions { DataDirectory = directory }))
        {
            tail.Stop();
        }

        // Unclean stop with the indexes lost: every batch is read and CRC-checked, and the indexes rebuilt.
        File.Delete(marker);
        foreach (var index in Directory.GetFiles(directory, "*index", SearchOption.AllDirectories))
        {
            File.Delete(index);
        }

        var size = Directory.GetFiles(directory, "*.log", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var full = Stopwatch.StartNew();
        await using (CommitLog.Open(new CommitLogOptions { DataDirectory = directory }))
        {
            full.Stop();
        }

        return (scanMbps, full.Elapsed.TotalSeconds / (size / (double)(1L << 30)), tail.Elapsed.TotalSeconds);
    }

    /// <summary>Reads the partition start to end in 1 MiB fetches, finding each next offset from the batch headers.</summary>
    private static long ScanAll(CommitLog log, byte[] buffer)
    {
        var offset = 0L;
        var bytes = 0L;
        while (true)
        {
            var read = log.Read("scan", 0, offset, buffer.Length);
            if (read.Records.Length == 0)
            {
                return bytes;
            }

            var length = read.Records.CopyTo(buffer);
            var span = buffer.AsSpan(0, length);
            var whole = 0;
            while (span.Length - whole >= RecordBatch.HeaderSize && RecordBatch.TotalSize(span[whole..]) <= span.Length - whole)
            {
                offset = RecordBatch.LastOffset(span[whole..]) + 1;
                whole += RecordBatch.TotalSize(span[whole..]);
            }

            bytes += whole;
        }
    }

    private sealed record AppendRow(
        int RecordBytes, int Producers, double Mbps, double RecordsPerSec, double FileStreamMbps, double FileStreamNeverWaitingMbps,
        double FasterLogMbps, double RatioToFileStream, double RatioToFileStreamNeverWaiting, double RatioToFasterLog,
        double AllocBytesPerAppend, double CpuMsPerMB, double FileStreamCpuMsPerMB);
}
