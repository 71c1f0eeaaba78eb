using System.Diagnostics;

namespace DataPlane.Store.Tests;

/// <summary>redis-cli (Debian's redis-tools, installed by .ci/run) against the real executable.</summary>
public sealed class RedisCliTests
{
    [Fact]
    public async Task RedisCli_AgainstTheExecutable_SetsGetsAndReportsErrors()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            var (child, endPoint) = await StoreProcess.StartAsync(directory);
            using (child)
            {
                var port = endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal("PONG", await Cli(port, "PING"));
                Assert.Equal("OK", await Cli(port, "SET", "greeting", "hello world"));
                Assert.Equal("hello world", await Cli(port, "GET", "greeting"));
                Assert.Equal("11", await Cli(port, "STRLEN", "greeting"));
                Assert.Equal("1", await Cli(port, "DBSIZE"));
                Assert.Equal("ERR wrong number of arguments for 'get' command", await Cli(port, "GET"));
                Assert.Contains("redis_version:", await Cli(port, "INFO", "server"));

                // Piped commands arrive together: every one is executed and answered.
                Assert.Equal("OK\n3\nhello", await CliPiped(port, "SET a hello\nINCRBY n 3\nGET a\n"));
                Assert.Equal(0, await child.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Task<string> Cli(string port, params string[] args) => Run(port, null, args);

    private static Task<string> CliPiped(string port, string stdin) => Run(port, stdin, []);

    private static async Task<string> Run(string port, string? stdin, string[] args)
    {
        var start = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-h", "127.0.0.1", "-p", port, .. args])
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return output.TrimEnd('\n');
    }
}
