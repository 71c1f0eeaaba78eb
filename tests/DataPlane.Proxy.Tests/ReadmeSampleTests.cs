using System.Net;
using System.Net.Sockets;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

public class ReadmeSampleTests
{
    [Fact]
    public async Task ReadmeProxySample_RunsAndMatchesTheReadme()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        var (upstreamA, upstreamB) = (a.Address, b.Address);

        #region readme-proxy
        await using var proxy = new ProxyServer(new ProxyOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0), // 0: a free port, see LocalEndPoint
            Upstreams = [new UpstreamOptions(upstreamA), new UpstreamOptions(upstreamB, weight: 2)],
            Policy = BalancingPolicy.PeakEwma,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            RateLimit = 1000, // new connections per second and client address
            RateBurst = 200,
        });
        await proxy.StartAsync();
        Console.WriteLine($"proxying {proxy.LocalEndPoint}");

        // New upstreams and settings apply to new connections; open ones keep theirs.
        proxy.Reconfigure(proxy.Options with { Upstreams = [new UpstreamOptions(upstreamB)] });
        #endregion

        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(client, "readme"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal("readme"u8.ToArray(), await Loopback.ReadToEndAsync(client));
        Assert.Equal(1, b.Accepted);
        Assert.Equal(Readme.Region("proxy"), Readme.Snippet("proxy"));
    }
}
