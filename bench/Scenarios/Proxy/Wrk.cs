using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>Runs wrk(1) and reads requests/s and the latency percentiles from its --latency output.</summary>
internal static partial class Wrk
{
    public static WrkResult Run(string wrk, string url, int threads, int connections, TimeSpan duration, bool closeEach)
    {
        var start = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{(int)duration.TotalSeconds}s", "--latency" })
        {
            start.ArgumentList.Add(a);
        }

        if (closeEach)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add("Connection: close");
        }

        start.ArgumentList.Add(url);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(duration + TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("wrk did not finish");
        }

        var text = output.Result + error.Result;
        var rps = RequestsPerSecond().Match(text);
        if (!rps.Success)
        {
            throw new InvalidOperationException($"wrk printed no Requests/sec: {text}");
        }

        var errors = SocketErrors().Match(text);
        return new WrkResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(text, "50"),
            Percentile(text, "99"),
            errors.Success ? errors.Groups[0].Value.Trim() : null);
    }

    private static double Percentile(string text, string p)
    {
        var m = Regex.Match(text, $@"^\s*{p}(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            _ => value * 1000,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Socket errors:.*")]
    private static partial Regex SocketErrors();
}

/// <summary>One wrk run: requests/s, p50 and p99 latency in ms, and its socket-error line if any.</summary>
internal sealed record WrkResult(double Rps, double P50Ms, double P99Ms, string? Errors);
