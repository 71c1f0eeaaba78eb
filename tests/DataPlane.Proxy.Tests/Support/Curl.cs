using System.Diagnostics;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>Runs curl(1), the external client of the end-to-end tests.</summary>
internal static class Curl
{
    public static async Task<(int ExitCode, string Output)> GetAsync(string url, params string[] extra)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-sS", "--max-time", "20", .. extra, url])
        {
            start.ArgumentList.Add(a);
        }

        using var curl = Process.Start(start)!;
        var output = curl.StandardOutput.ReadToEndAsync();
        var error = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync().WaitAsync(Loopback.Timeout);
        return (curl.ExitCode, await output + await error);
    }
}
