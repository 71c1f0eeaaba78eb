namespace DataPlane.Bench.Scenarios;

internal sealed partial class LogScenario
{
    /// <summary>The windows swept: 1 MiB (64 batches, the old bench's) up to Kafka's 32 MiB <c>buffer.memory</c>.</summary>
    private static readonly long[] SweptWindows = [1L << 20, 4L << 20, 8L << 20, 32L << 20];

    /// <summary>
    /// The log's durable throughput against its producer's window (100 B records, one producer), beside the
    /// FileStream under the same rule and window: how the window bounds both.
    /// </summary>
    private static async Task<List<WindowRow>> SweepWindows(string root, TimeSpan duration, CancellationToken cancellationToken)
    {
        const int recordBytes = 100;
        var batch = BuildBatch(recordBytes, out var recordsPerBatch);
        var rows = new List<WindowRow>();
        foreach (var window in SweptWindows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double ours = 0, oursCpu = double.MaxValue, fileStream = 0;
            for (var round = 0; round < Rounds; round++)
            {
                var (rate, _, cpuMsPerMB) = await RunLog(Fresh(root, "log"), batch, recordsPerBatch, recordBytes, 1, duration, window);
                (ours, oursCpu) = (Math.Max(ours, rate), Math.Min(oursCpu, cpuMsPerMB));
                fileStream = Math.Max(fileStream, FileStreamLogBaseline.Run(Fresh(root, "fsack"), recordBytes, recordsPerBatch, 1, duration, window));
            }

            rows.Add(new WindowRow(window, Mbps(ours, recordBytes), Mbps(fileStream, recordBytes), oursCpu));
        }

        return rows;
    }

    private static Table WindowTable(List<WindowRow> rows)
    {
        var table = new Table("window MiB", "log MB/s", "FileStream MB/s", "log/FileStream", "log CPU ms/MB");
        foreach (var r in rows)
        {
            table.Add(r.WindowBytes >> 20, r.Mbps, r.FileStreamMbps, r.Mbps / r.FileStreamMbps, r.CpuMsPerMB);
        }

        return table;
    }

    private sealed record WindowRow(long WindowBytes, double Mbps, double FileStreamMbps, double CpuMsPerMB);
}
