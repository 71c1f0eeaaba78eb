using System.Diagnostics;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>Runs wrk(1), the external HTTP load generator, and returns its report.</summary>
internal static class Wrk
{
    /// <summary>Runs wrk for <paramref name="duration"/>, or until <paramref name="stop"/> fires: SIGINT, on which wrk ends and reports as usual.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string url, int connections, TimeSpan duration, CancellationToken stop = default)
    {
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-t", "1", "-c", connections.ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", $"{(int)duration.TotalSeconds}s", "--latency", url])
        {
            start.ArgumentList.Add(a);
        }

        using var wrk = Process.Start(start)!;
        var output = wrk.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = wrk.StandardError.ReadToEndAsync(CancellationToken.None);
        using (stop.Register(() => Interrupt(wrk.Id)))
        {
            await wrk.WaitForExitAsync(CancellationToken.None).WaitAsync(duration + Loopback.Timeout, CancellationToken.None);
        }

        return (wrk.ExitCode, await output + await error);
    }

    private static void Interrupt(int pid)
    {
        using var kill = Process.Start("kill", ["-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit(30_000);
    }
}
