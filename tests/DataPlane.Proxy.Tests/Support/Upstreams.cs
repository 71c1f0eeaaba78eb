using System.Net;
using DataPlane.Proxy.Upstreams;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Proxy.Tests.Support;

internal static class TestUpstreams
{
    public static Upstream[] Make(int count, TimeProvider time) =>
        [.. Enumerable.Range(0, count).Select(i => new Upstream($"127.0.0.1:{20000 + i}", new IPEndPoint(IPAddress.Loopback, 20000 + i), 1, time))];

    public static void SetActive(Upstream upstream, int active)
    {
        while (upstream.Active < active)
        {
            upstream.OnConnecting();
        }

        while (upstream.Active > active)
        {
            upstream.OnReleased();
        }
    }

    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
}
