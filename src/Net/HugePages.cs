using System.Globalization;
using System.Runtime.InteropServices;

namespace DataPlane.Net;

/// <summary>
/// Transparent huge pages for the managed heap, as the JVM's <c>-XX:+UseTransparentHugePages</c> gives
/// its heap. A store's FASTER hash index and log pages are pinned arrays on the heap, read at random:
/// with 4 KB pages nearly every lookup also misses the TLB, and the page walk is another trip to memory.
/// The kernel backs an advised range with 2 MB pages from its next page fault on; what the heap touched
/// before stays in small pages (until the kernel's khugepaged merges it), so a process advises first.
/// </summary>
public static partial class HugePages
{
    private const int MadvHugePage = 14;

    /// <summary>
    /// Advises the kernel (<c>madvise(MADV_HUGEPAGE)</c>) to back the managed heap's address range with
    /// huge pages: the run of adjacent anonymous mappings that holds a pinned array, which the garbage
    /// collector reserves in one piece and commits within. Returns the bytes of address space advised;
    /// 0 off Linux, or where the kernel has no transparent huge pages.
    /// </summary>
    public static unsafe long AdviseManagedHeap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var probe = GC.AllocateArray<byte>(1, pinned: true);
        ulong address;
        fixed (byte* p = probe)
        {
            address = (ulong)p;
        }

        var (start, end) = AnonymousRunAround(File.ReadAllLines("/proc/self/maps"), address);
        GC.KeepAlive(probe);
        return end > start && Madvise((nint)start, (nuint)(end - start), MadvHugePage) == 0 ? (long)(end - start) : 0;
    }

    /// <summary>
    /// The address range of the anonymous mapping in <paramref name="maps"/> (lines of <c>/proc/PID/maps</c>)
    /// that holds <paramref name="address"/>, widened over the anonymous mappings that adjoin it on
    /// either side; (0, 0) when no anonymous mapping holds it.
    /// </summary>
    internal static (ulong Start, ulong End) AnonymousRunAround(IReadOnlyList<string> maps, ulong address)
    {
        var ranges = new List<(ulong Start, ulong End, bool Anonymous)>(maps.Count);
        foreach (var line in maps)
        {
            // start-end perms offset dev inode [path]: anonymous memory has inode 0 and no path.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var bounds = fields.Length >= 5 ? fields[0].Split('-') : [];
            if (bounds.Length == 2
                && ulong.TryParse(bounds[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                && ulong.TryParse(bounds[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end))
            {
                ranges.Add((start, end, fields.Length == 5 && fields[4] == "0"));
            }
        }

        var at = ranges.FindIndex(r => r.Start <= address && address < r.End);
        if (at < 0 || !ranges[at].Anonymous)
        {
            return (0, 0);
        }

        var (first, last) = (at, at);
        while (first > 0 && ranges[first - 1].Anonymous && ranges[first - 1].End == ranges[first].Start)
        {
            first--;
        }

        while (last < ranges.Count - 1 && ranges[last + 1].Anonymous && ranges[last + 1].Start == ranges[last].End)
        {
            last++;
        }

        return (ranges[first].Start, ranges[last].End);
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
