using System.Net;
using System.Net.Sockets;
using DataPlane.Proxy.Config;
using DataPlane.Proxy.Hosting;
using DataPlane.Proxy.Tests.Support;

namespace DataPlane.Proxy.Tests;

/// <summary>A config file that cannot be applied whole changes nothing, and never stops the proxy.</summary>
public sealed class ConfigReloadTests
{
    private static readonly ProxyOptions Defaults = Loopback.Options("127.0.0.1:1");

    /// <summary>Each of these threw something other than a FormatException, which ended the proxy on a reload.</summary>
    [Theory]
    [InlineData("""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": [{"addr": "127.0.0.1:1"}]}]}""", "'address' is required")]
    [InlineData("""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": [7]}]}""", "upstreams[0]: must be")]
    [InlineData("""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": ["127.0.0.1:1"], "idleTimeout": "1e300s"}]}""", "idleTimeout: '1e300s' is longer than")]
    [InlineData("""{"admin": null, "listeners": [{"listen": "127.0.0.1:0", "upstreams": ["127.0.0.1:1"]}]}""", "admin: must be")]
    [InlineData("""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": ["127.0.0.1:1"], "maxConnections": 1e20}]}""", "config:")]
    [InlineData("""{"listeners": [{"listen": "127.0.0.1:0", "upstreams": ["127.0.0.1:1", "127.0.0.1:1"]}]}""", "listed twice")]
    public void Parse_AnInvalidValue_IsAFormatErrorThatSaysWhat(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ProxyConfigFile.Parse(json, Defaults, null));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_APathThatCannotBeRead_IsAFormatError()
    {
        // Reading a directory fails with UnauthorizedAccessException, as a file without read permission does (root reads those).
        var e = Assert.Throws<FormatException>(() => ProxyConfigFile.Load(Path.GetTempPath(), Defaults, null));
        Assert.Contains("cannot read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_WithANewListenerThatCannotBind_ChangesNoListener()
    {
        await using var first = TestUpstream.Echo();
        await using var second = TestUpstream.Echo();
        using var taken = Net.ListenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var free = FreePort();
        await WithHostAsync(Listener("127.0.0.1:0", first.Address), async (host, path) =>
        {
            var running = host.Listeners[0].LocalEndPoint;

            // The running listener would move to the second upstream; a new one binds first, then one cannot.
            await File.WriteAllTextAsync(path, Config(Listener("127.0.0.1:0", second.Address), Listener(free.ToString(), second.Address), Listener(taken.LocalEndPoint!.ToString()!, second.Address)));
            Assert.False(await host.ReloadAsync(path, Defaults, null));

            Assert.Equal((1, 1L), (host.Listeners.Count, host.ReloadFailures));
            Assert.True(await RoundTripAsync(running));
            Assert.Equal((1, 0), (first.Accepted, second.Accepted));
            await Assert.ThrowsAsync<SocketException>(() => Loopback.ConnectAsync(free));
        });
    }

    [Fact]
    public async Task Reload_WithAnUpstreamListedTwiceInALaterListener_ChangesNoListener()
    {
        await using var first = TestUpstream.Echo();
        await using var second = TestUpstream.Echo();
        await WithHostAsync(Listener("127.0.0.1:0", first.Address), async (host, path) =>
        {
            var running = host.Listeners[0].LocalEndPoint;
            var twice = $$"""{ "listen": "{{FreePort()}}", "upstreams": ["{{second.Address}}", "{{second.Address}}"] }""";
            await File.WriteAllTextAsync(path, Config(Listener("127.0.0.1:0", second.Address), twice));
            Assert.False(await host.ReloadAsync(path, Defaults, null));

            Assert.True(await RoundTripAsync(running));
            Assert.Equal((1, 0), (first.Accepted, second.Accepted));
        });
    }

    /// <summary>Runs <paramref name="body"/> with a host started from a config file of <paramref name="listener"/>, and the file's path.</summary>
    private static async Task WithHostAsync(string listener, Func<ProxyHost, string, Task> body)
    {
        var path = Path.Combine(Path.GetTempPath(), $"dataplane-reload-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, Config(listener));
        try
        {
            await using var host = new ProxyHost();
            await host.StartAsync(ProxyConfigFile.Load(path, Defaults, null));
            await body(host, path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Listener(string listen, string upstream) => $$"""{ "listen": "{{listen}}", "upstreams": ["{{upstream}}"] }""";

    private static string Config(params string[] listeners) => $$"""{ "listeners": [{{string.Join(", ", listeners)}}] }""";

    /// <summary>A loopback port nothing listens on now (bound and closed at once).</summary>
    private static IPEndPoint FreePort()
    {
        using var socket = Net.ListenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    private static async Task<bool> RoundTripAsync(IPEndPoint endPoint)
    {
        using var client = await Loopback.ConnectAsync(endPoint);
        await Loopback.SendAllAsync(client, "ping"u8.ToArray());
        var echoed = await Loopback.ReadExactlyAsync(client, 4);
        return "ping"u8.SequenceEqual(echoed);
    }
}
