using System.Globalization;

namespace DataPlane.Store.Durability;

/// <summary>The write-ahead log's files: <c>wal-NNNNNNNNNNNNNNNNNNNN.log</c>, numbered upwards; a checkpoint names the first one it does not cover.</summary>
internal static class WalSegments
{
    public static string PathOf(string directory, long segment) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"wal-{segment:D20}.log"));

    public static List<long> List(string directory)
    {
        var segments = new List<long>();
        foreach (var file in Directory.EnumerateFiles(directory, "wal-*.log"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (long.TryParse(name.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var segment))
            {
                segments.Add(segment);
            }
        }

        segments.Sort();
        return segments;
    }

    /// <summary>
    /// Calls <paramref name="apply"/> for every whole record of the segments from <paramref name="first"/> on,
    /// cuts each segment at its first torn or damaged record, deletes older segments, and returns the
    /// number the next segment should take.
    /// </summary>
    public static long Replay(string directory, long first, WalApply apply)
    {
        var next = first;
        foreach (var segment in List(directory))
        {
            var path = PathOf(directory, segment);
            if (segment < first)
            {
                File.Delete(path);
                continue;
            }

            var data = File.ReadAllBytes(path);
            var offset = 0;
            while (WalRecord.TryRead(data.AsSpan(offset), out var key, out var value, out var size))
            {
                apply(key, value);
                offset += size;
            }

            if (offset < data.Length)
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(offset);
                file.Flush(flushToDisk: true);
            }

            next = segment + 1;
        }

        return next;
    }
}
