using System.Net.Sockets;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

public class LimitTests
{
    private static readonly byte[] TooMany = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n"u8.ToArray();

    [Fact]
    public async Task RateLimit_RefusesAboveTheRate_AndAcceptsAgainAfterRefill()
    {
        await using var upstream = TestUpstream.Echo();
        var options = Loopback.Options(upstream.Address) with { RateLimit = 0.5, RateBurst = 2, RejectResponse = TooMany };
        await using var proxy = await Loopback.StartAsync(options);

        Assert.True(await EchoesAsync(proxy));
        Assert.True(await EchoesAsync(proxy));
        using (var refused = await Loopback.ConnectAsync(proxy.LocalEndPoint))
        {
            Assert.Equal(TooMany, await Loopback.ReadToEndAsync(refused));
        }

        Assert.Equal(1, proxy.RateLimited);
        Assert.Equal(2, upstream.Accepted);

        // One token every 2 s: keep trying until a connection gets through again.
        await Eventually.True(() => TryEcho(proxy), "a connection is accepted after the bucket refills", Loopback.Timeout);
        Assert.Equal(3, upstream.Accepted);
    }

    [Fact]
    public async Task MaxConnections_RefusesOverTheLimit_AndAcceptsWhenOneCloses()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = await Loopback.StartAsync(Loopback.Options(upstream.Address) with { MaxConnections = 1 });

        var first = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(first, "a"u8.ToArray());
        Assert.Equal("a"u8.ToArray(), await Loopback.ReadExactlyAsync(first, 1));

        using (var second = await Loopback.ConnectAsync(proxy.LocalEndPoint))
        {
            Assert.True(await Loopback.ClosedByPeerAsync(second));
        }

        Assert.Equal(1, proxy.OverLimit);
        first.Shutdown(SocketShutdown.Send);
        await Loopback.ReadToEndAsync(first);
        first.Dispose();

        await Eventually.True(() => proxy.ActiveConnections == 0, "the first connection is gone");
        Assert.True(await EchoesAsync(proxy));
    }

    private static bool TryEcho(ProxyServer proxy) => EchoesAsync(proxy).GetAwaiter().GetResult();

    private static async Task<bool> EchoesAsync(ProxyServer proxy)
    {
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(client, "hi"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        var reply = await Loopback.ReadToEndAsync(client);
        return reply.AsSpan().SequenceEqual("hi"u8);
    }
}
