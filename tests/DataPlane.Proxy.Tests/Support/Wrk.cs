using System.Diagnostics;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>Runs wrk(1), the external HTTP load generator, and returns its report.</summary>
internal static class Wrk
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string url, int connections, TimeSpan duration)
    {
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-t", "1", "-c", connections.ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", $"{(int)duration.TotalSeconds}s", "--latency", url])
        {
            start.ArgumentList.Add(a);
        }

        using var wrk = Process.Start(start)!;
        var output = wrk.StandardOutput.ReadToEndAsync();
        var error = wrk.StandardError.ReadToEndAsync();
        await wrk.WaitForExitAsync().WaitAsync(duration + Loopback.Timeout);
        return (wrk.ExitCode, await output + await error);
    }
}
