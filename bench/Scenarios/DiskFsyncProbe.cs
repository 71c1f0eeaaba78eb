using System.Diagnostics;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The disk's own durable bandwidth, the ceiling for every row of the log table: one thread writing
/// <c>chunkBytes</c> at a time and fsyncing after each, as <c>dd oflag=dsync bs=4M</c> does.
/// </summary>
internal static class DiskFsyncProbe
{
    /// <summary>Writes and fsyncs chunks for <paramref name="duration"/>; returns MB/s (10^6 B/s) made durable.</summary>
    public static double Run(string directory, int chunkBytes, TimeSpan duration)
    {
        var chunk = new byte[chunkBytes];
        Random.Shared.NextBytes(chunk);
        using var file = File.OpenHandle(Path.Combine(directory, "fsync-probe"), FileMode.Create, FileAccess.Write);
        var position = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            RandomAccess.Write(file, chunk, position);
            RandomAccess.FlushToDisk(file);
            position += chunkBytes;
        }

        return position / clock.Elapsed.TotalSeconds / 1e6;
    }
}
