using System.Globalization;
using DataPlane.Net;

namespace DataPlane.Store.Tests;

/// <summary>
/// The managed heap in transparent huge pages: which address range is advised, and that <c>dataplane
/// store</c> advises it by default and not with <c>--huge-pages false</c> (the kernel marks an advised
/// mapping with the <c>hg</c> flag in /proc/PID/smaps).
/// </summary>
public sealed class HugePagesTests
{
    private static readonly bool KernelHasThp = Directory.Exists("/sys/kernel/mm/transparent_hugepage");

    [Fact]
    public void AnonymousRun_WidensOverAdjoiningAnonymousMappingsOnly()
    {
        string[] maps =
        [
            "1000-2000 rw-p 00000000 00:00 0",
            "3000-4000 ---p 00000000 00:00 0",
            "4000-5000 rw-p 00000000 00:00 0",
            "5000-9000 ---p 00000000 00:00 0",
            "9000-a000 r--p 00000000 fe:00 332392                     /usr/lib/libc.so.6",
            "a000-b000 rw-p 00000000 00:00 0",
        ];

        // A gap before 3000 and a file after 9000 bound the run around 4800.
        Assert.Equal((0x3000UL, 0x9000UL), HugePages.AnonymousRunAround(maps, 0x4800));
        Assert.Equal((0xa000UL, 0xb000UL), HugePages.AnonymousRunAround(maps, 0xa000));
        Assert.Equal((0UL, 0UL), HugePages.AnonymousRunAround(maps, 0x9800));
        Assert.Equal((0UL, 0UL), HugePages.AnonymousRunAround(maps, 0x2800));
    }

    [Fact]
    public void AdviseManagedHeap_MarksTheMappingThatHoldsAPinnedArray()
    {
        var advised = HugePages.AdviseManagedHeap();
        var array = GC.AllocateArray<byte>(1 << 20, pinned: true);
        var address = (ulong)System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);

        var flags = MappingFlags(Environment.ProcessId).Single(m => m.Start <= address && address < m.End).Flags;
        GC.KeepAlive(array);
        if (KernelHasThp)
        {
            Assert.True(advised >= 1L << 20, $"advised {advised} bytes");
            Assert.Contains("hg", flags);
        }
        else
        {
            Assert.Equal(0, advised);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Store_AdvisesItsHeapUnlessToldNot(bool hugePages)
    {
        var directory = Directory.CreateTempSubdirectory("dataplane-hugepages-").FullName;
        try
        {
            var (store, _) = await StoreProcess.StartAsync(directory, "--huge-pages", hugePages ? "true" : "false");
            using (store)
            {
                var advised = MappingFlags(store.Id).Where(m => m.Flags.Contains("hg")).Sum(m => (long)(m.End - m.Start));
                if (hugePages && KernelHasThp)
                {
                    // The heap's reservation: far more address space than the store has touched.
                    Assert.True(advised >= 256L << 20, $"{advised} bytes advised");
                }
                else
                {
                    Assert.Equal(0, advised);
                }

                Assert.Equal(0, await store.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Each mapping of process <paramref name="pid"/> with its VmFlags, from /proc/PID/smaps.</summary>
    private static List<(ulong Start, ulong End, string[] Flags)> MappingFlags(int pid)
    {
        var mappings = new List<(ulong Start, ulong End, string[] Flags)>();
        (ulong Start, ulong End)? current = null;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (line.StartsWith("VmFlags:", StringComparison.Ordinal) && current is { } range)
            {
                mappings.Add((range.Start, range.End, line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
                continue;
            }

            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash
                && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end))
            {
                current = (start, end);
            }
        }

        return mappings;
    }
}
