using System.Text.Json;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

public class CliEndToEndTests
{
    [Fact]
    public async Task DataplaneProxy_ServesCurlThroughEveryUpstream_AndItsAdminEndpointAnswers()
    {
        await using var a = HttpUpstream.Start("from-a");
        await using var b = HttpUpstream.Start("from-b");
        await using var proxy = new DataplaneProcess(
            "--listen", "127.0.0.1:0", "--upstream", a.Address, "--upstream", b.Address, "--upstream", Support.Loopback.ClosedAddress(),
            "--policy", "round-robin", "--admin", "127.0.0.1:0", "--connect-timeout", "2s", "--retries", "2");
        var listen = await proxy.Listening;
        var admin = await proxy.Admin;

        var bodies = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var (code, body) = await Curl.GetAsync($"http://{listen}/");
            Assert.True(code == 0, $"curl failed ({code}): {body}\n{proxy.Output}");
            bodies.Add(body);
        }

        Assert.Contains("from-a", bodies);
        Assert.Contains("from-b", bodies);

        var (_, metrics) = await Curl.GetAsync($"http://{admin}/metrics");
        Assert.Contains("dataplane_proxy_upstream_connections{", metrics);
        Assert.Contains("dataplane_proxy_upstream_connect_failures{cause=\"refused\"", metrics);
        Assert.Contains("dataplane_proxy_connection_duration_count{", metrics);
        Assert.Contains("dataplane_proxy_connections_idle_closed{", metrics);
        Assert.All(metrics.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')), line =>
            Assert.Matches(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=""[^""]*"",?)*\})? [-+0-9.eE]+(Inf|NaN)?$", line));

        var (_, upstreams) = await Curl.GetAsync($"http://{admin}/upstreams");
        using var json = JsonDocument.Parse(upstreams);
        var listed = json.RootElement[0].GetProperty("upstreams").EnumerateArray().Select(u => u.GetProperty("address").GetString()!).ToArray();
        Assert.Equal(new[] { a.Address, b.Address }, listed[..2]);

        Assert.Equal("ok\n", (await Curl.GetAsync($"http://{admin}/healthz")).Output);
        Assert.Equal("ready\n", (await Curl.GetAsync($"http://{admin}/ready")).Output);

        await proxy.SignalAsync("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync());
    }

    [Fact]
    public async Task DataplaneProxy_ConfigFile_ReloadsOnSighup_KeepingOpenConnections()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        var path = Path.Combine(Path.GetTempPath(), $"dataplane-proxy-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, Config(a.Address));
        try
        {
            await using var proxy = new DataplaneProcess("--config", path);
            var listen = await proxy.Listening;

            using var open = await Support.Loopback.ConnectAsync(listen);
            await Support.Loopback.SendAllAsync(open, "one"u8.ToArray());
            Assert.Equal("one"u8.ToArray(), await Support.Loopback.ReadExactlyAsync(open, 3));

            // JSON that does not parse, then a value that once ended the process (an upstream without an address).
            string[] bad = ["{ not json", $$"""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": [{"addr": "{{b.Address}}"}]}]}"""];
            for (var i = 0; i < bad.Length; i++)
            {
                await File.WriteAllTextAsync(path, bad[i]);
                await proxy.SignalAsync("HUP");
                var refusals = i + 1;
                await Eventually.True(() => Occurrences(proxy.Output, "failed, the previous configuration stays") == refusals, "the bad config is refused", Support.Loopback.Timeout);
            }

            await File.WriteAllTextAsync(path, Config(b.Address));
            await proxy.SignalAsync("HUP");
            await Eventually.True(() => proxy.Output.Contains("Reloaded", StringComparison.Ordinal), "the good config is applied", Support.Loopback.Timeout);

            using (var fresh = await Support.Loopback.ConnectAsync(listen))
            {
                await Support.Loopback.SendAllAsync(fresh, "two"u8.ToArray());
                Assert.Equal("two"u8.ToArray(), await Support.Loopback.ReadExactlyAsync(fresh, 3));
            }

            Assert.Equal(1, b.Accepted);

            // The connection opened before both reloads still works, on its old upstream.
            await Support.Loopback.SendAllAsync(open, "three"u8.ToArray());
            Assert.Equal("three"u8.ToArray(), await Support.Loopback.ReadExactlyAsync(open, 5));
            Assert.Equal(1, a.Accepted);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task DataplaneProxy_ConfigFileOfAKubernetesConfigMap_ReloadsWhenItsDataLinkIsSwapped()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        var directory = Directory.CreateTempSubdirectory("dataplane-configmap-").FullName;
        try
        {
            // kubelet's layout: the file is a link through ..data, a link to the current version's directory.
            await WriteVersionAsync(directory, "..v1", a.Address);
            File.CreateSymbolicLink(Path.Combine(directory, "..data"), "..v1");
            File.CreateSymbolicLink(Path.Combine(directory, "proxy.json"), "..data/proxy.json");
            await using var proxy = new DataplaneProcess("--config", Path.Combine(directory, "proxy.json"));
            var listen = await proxy.Listening;

            // An update, as kubelet makes it: a new version, and a new link renamed over ..data (one rename(2)).
            await WriteVersionAsync(directory, "..v2", b.Address);
            File.CreateSymbolicLink(Path.Combine(directory, "..data_tmp"), "..v2");
            using (var rename = System.Diagnostics.Process.Start("mv", ["-T", Path.Combine(directory, "..data_tmp"), Path.Combine(directory, "..data")]))
            {
                await rename.WaitForExitAsync().WaitAsync(Support.Loopback.Timeout);
                Assert.Equal(0, rename.ExitCode);
            }

            await Eventually.True(() => proxy.Output.Contains("Reloaded", StringComparison.Ordinal), "the new version is applied", Support.Loopback.Timeout);
            using var fresh = await Support.Loopback.ConnectAsync(listen);
            await Support.Loopback.SendAllAsync(fresh, "new"u8.ToArray());
            Assert.Equal("new"u8.ToArray(), await Support.Loopback.ReadExactlyAsync(fresh, 3));
            Assert.Equal((0, 1), (a.Accepted, b.Accepted));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task DataplaneProxy_BadArguments_ExitWithAClearError()
    {
        await using var proxy = new DataplaneProcess("--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--connect-timeout", "soon");

        Assert.Equal(2, await proxy.WaitForExitAsync());
        Assert.Contains("--connect-timeout: 'soon' is not a duration", proxy.Output);
    }

    private static async Task WriteVersionAsync(string directory, string version, string upstream)
    {
        Directory.CreateDirectory(Path.Combine(directory, version));
        await File.WriteAllTextAsync(Path.Combine(directory, version, "proxy.json"), Config(upstream));
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string Config(string upstream) => $$"""
        {
          "listeners": [
            { "name": "echo", "listen": "127.0.0.1:0", "upstreams": ["{{upstream}}"], "policy": "least-conn", "idleTimeout": "5m" }
          ]
        }
        """;
}
