using System.Diagnostics;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>Debian's kcat (librdkafka 2.0.2) against the real <c>dataplane log</c> executable.</summary>
public sealed class KcatTests
{
    [Fact]
    public async Task KcatProducesConsumesJoinsAGroupAndListsMetadata()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dataplane-kcat-" + Guid.NewGuid().ToString("N"));
        var (process, endPoint) = await LogProcess.StartAsync(directory, "--partitions", "3");
        try
        {
            var broker = endPoint.ToString();
            var lines = Enumerable.Range(0, 200).Select(i => "line-" + i).ToList();
            await RunAsync(["-P", "-b", broker, "-t", "kcat-auto"], string.Join('\n', lines) + "\n");

            var read = await RunAsync(["-C", "-b", broker, "-t", "kcat-auto", "-e", "-q"]);
            Assert.Equal(lines.Order(), read.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

            var grouped = await RunAsync(["-b", broker, "-G", "kcat-group", "-e", "-q", "-o", "beginning", "kcat-auto"]);
            Assert.Equal(lines.Order(), grouped.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

            var metadata = await RunAsync(["-L", "-b", broker]);
            Assert.Contains("topic \"kcat-auto\" with 3 partitions", metadata, StringComparison.Ordinal);
            Assert.Contains($"broker 0 at {broker}", metadata, StringComparison.Ordinal);

            Assert.Equal(0, await process.TerminateAsync());
            Assert.True(File.Exists(Path.Combine(directory, ".clean-shutdown")), "SIGTERM leaves the clean-shutdown marker");
        }
        finally
        {
            process.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string> RunAsync(string[] arguments, string? input = null)
    {
        var start = new ProcessStartInfo("kcat")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var kcat = Process.Start(start)!;
        var output = kcat.StandardOutput.ReadToEndAsync();
        var error = kcat.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await kcat.StandardInput.WriteAsync(input);
        }

        kcat.StandardInput.Close();
        try
        {
            await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            kcat.Kill();
            throw new TimeoutException($"kcat {string.Join(' ', arguments)} did not finish: {await error}");
        }

        Assert.True(kcat.ExitCode == 0, $"kcat {string.Join(' ', arguments)} exited {kcat.ExitCode}: {await error}");
        return await output;
    }
}
