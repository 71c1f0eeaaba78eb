using System.Diagnostics;
using DataPlane.Log.Storage;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The disk's own durable bandwidth, the ceiling for every row of the log table: one thread writing
/// <c>chunkBytes</c> at a time and fsyncing after each, as <c>dd oflag=dsync bs=4M</c> does; or, with
/// <c>startWriteback</c>, starting writeback of each chunk as it is written (the log writer's
/// <see cref="Writeback"/>) and fsyncing every <c>syncBytes</c>.
/// </summary>
internal static class DiskFsyncProbe
{
    /// <summary>Writes and fsyncs for <paramref name="duration"/>; returns MB/s (10^6 B/s) made durable.</summary>
    public static double Run(string directory, int chunkBytes, TimeSpan duration, long syncBytes = 0, bool startWriteback = false)
    {
        syncBytes = Math.Max(syncBytes, chunkBytes);
        var chunk = new byte[chunkBytes];
        Random.Shared.NextBytes(chunk);
        using var file = File.OpenHandle(Path.Combine(directory, "fsync-probe"), FileMode.Create, FileAccess.Write);
        var position = 0L;
        var synced = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            RandomAccess.Write(file, chunk, position);
            if (startWriteback)
            {
                Writeback.Start(file, position, chunkBytes);
            }

            position += chunkBytes;
            if (position - synced >= syncBytes)
            {
                RandomAccess.FlushToDisk(file);
                synced = position;
            }
        }

        if (synced < position)
        {
            RandomAccess.FlushToDisk(file);
        }

        return position / clock.Elapsed.TotalSeconds / 1e6;
    }
}
