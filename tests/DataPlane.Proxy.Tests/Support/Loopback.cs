using System.Net;
using System.Net.Sockets;

namespace DataPlane.Proxy.Tests.Support;

internal static class Loopback
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>An address where nothing listens (bound for a moment to get a free port, then released).</summary>
    public static string ClosedAddress()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket.LocalEndPoint!.ToString()!;
    }

    public static ProxyOptions Options(params string[] upstreams) => new()
    {
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        Upstreams = [.. upstreams.Select(u => new UpstreamOptions(u))],
        DrainTimeout = TimeSpan.FromSeconds(5),
    };

    public static async Task<ProxyServer> StartAsync(ProxyOptions options)
    {
        var proxy = new ProxyServer(options);
        await proxy.StartAsync();
        return proxy;
    }

    public static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cancel = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(endPoint, cancel.Token);
        return socket;
    }

    /// <summary>Reads until the peer's FIN; throws on a reset or after the timeout.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            if (n == 0)
            {
                return all.ToArray();
            }

            all.Write(buffer, 0, n);
        }
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var data = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(data.AsMemory(read), SocketFlags.None, cancel.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {read} of {count} bytes");
            }

            read += n;
        }

        return data;
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, cancel.Token);
            data = data[n..];
        }
    }

    /// <summary>True when the peer closed (FIN or RST) within the timeout.</summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
