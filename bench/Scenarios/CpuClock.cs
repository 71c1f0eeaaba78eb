using System.Diagnostics;

namespace DataPlane.Bench.Scenarios;

/// <summary>The process's CPU time since <see cref="Start"/>, per MB of work.</summary>
internal readonly struct CpuClock
{
    private readonly TimeSpan _start;

    private CpuClock(TimeSpan start) => _start = start;

    public static CpuClock Start() => new(Process.GetCurrentProcess().TotalProcessorTime);

    public double MsPerMB(double bytes) =>
        (Process.GetCurrentProcess().TotalProcessorTime - _start).TotalMilliseconds / (bytes / 1e6);
}
