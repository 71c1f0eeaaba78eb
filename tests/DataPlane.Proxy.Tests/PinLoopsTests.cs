using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>`dataplane proxy --pin-loops`: each epoll loop thread bound to its own CPU; without it (or with `=false`), left as it was.</summary>
public sealed class PinLoopsTests
{
    [Fact]
    public async Task PinLoops_BindsEachEpollLoopToOneCpuOfItsOwn_AndWithoutItTheLoopsMayRunOnAll()
    {
        await using var upstream = TestUpstream.Echo();
        await using var pinned = new DataplaneProcess("--listen", "127.0.0.1:0", "--upstream", upstream.Address, "--pin-loops");
        await using var free = new DataplaneProcess("--listen", "127.0.0.1:0", "--upstream", upstream.Address);
        await pinned.Listening;
        await free.Listening;
        var all = CpusAllowed($"/proc/{free.Id}/status");

        AssertBound(pinned, all);
        AssertFree(free, all);
        await Eventually.True(() => pinned.Output.Contains("each bound to one CPU", StringComparison.Ordinal), "the pinned proxy says so", Loopback.Timeout);
        await Eventually.True(() => free.Output.Contains("not bound", StringComparison.Ordinal), "the free proxy says so", Loopback.Timeout);
    }

    [Fact]
    public async Task PinLoopsFalse_LeavesTheLoopsOnAllCpus()
    {
        await using var upstream = TestUpstream.Echo();
        await using var free = new DataplaneProcess("--listen", "127.0.0.1:0", "--upstream", upstream.Address, "--pin-loops=false");
        await free.Listening;

        AssertFree(free, CpusAllowed($"/proc/{free.Id}/status"));
    }

    /// <summary>
    /// Every loop (one per core) is bound to one CPU of <paramref name="all"/>, as many distinct
    /// as there can be. A loop binds itself before the transport is handed out, so before the proxy says it listens.
    /// </summary>
    private static void AssertBound(DataplaneProcess proxy, SortedSet<int> all)
    {
        var cpus = LoopCpus(proxy.Id);
        Assert.Equal(Environment.ProcessorCount, cpus.Count);
        Assert.All(cpus, c => Assert.Single(c));
        var bound = cpus.Select(c => c.Single()).ToList();
        Assert.Equal(Math.Min(bound.Count, all.Count), bound.Distinct().Count());
        Assert.All(bound, cpu => Assert.Contains(cpu, all));
    }

    /// <summary>Every loop (one per core) may run on all of <paramref name="all"/>.</summary>
    private static void AssertFree(DataplaneProcess proxy, SortedSet<int> all)
    {
        var unbound = LoopCpus(proxy.Id);
        Assert.Equal(Environment.ProcessorCount, unbound.Count);
        Assert.All(unbound, cpus => Assert.Equal(all, cpus));
    }

    /// <summary>The CPUs each "epoll loop N" thread of process <paramref name="pid"/> may run on, in loop order.</summary>
    private static List<SortedSet<int>> LoopCpus(int pid)
    {
        var loops = new SortedDictionary<int, SortedSet<int>>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
            if (name.StartsWith("epoll loop ", StringComparison.Ordinal))
            {
                loops[int.Parse(name["epoll loop ".Length..], System.Globalization.CultureInfo.InvariantCulture)] = CpusAllowed(Path.Combine(task, "status"));
            }
        }

        return [.. loops.Values];
    }

    /// <summary>The Cpus_allowed_list of a /proc status file ("0-3,6").</summary>
    private static SortedSet<int> CpusAllowed(string status)
    {
        var line = File.ReadLines(status).Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
        var cpus = new SortedSet<int>();
        foreach (var range in line["Cpus_allowed_list:".Length..].Trim().Split(','))
        {
            var ends = range.Split('-');
            var first = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            var last = int.Parse(ends[^1], System.Globalization.CultureInfo.InvariantCulture);
            for (var cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }

        return cpus;
    }
}
