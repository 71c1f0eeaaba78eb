using System.Net;
using System.Net.Sockets;

namespace DataPlane.Bench.Tests;

/// <summary>
/// A minimal round-robin TCP forwarder standing in for <c>dataplane proxy</c> in these tests:
/// accept, connect to the next upstream, copy both ways, pass a FIN on as a send shutdown.
/// </summary>
internal sealed class TestForwarder : IAsyncDisposable
{
    private readonly IPEndPoint[] _upstreams;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _next;

    public TestForwarder(params IPEndPoint[] upstreams)
    {
        _upstreams = upstreams;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1024);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client, _upstreams[(uint)Interlocked.Increment(ref _next) % _upstreams.Length]);
        }
    }

    private async Task ForwardAsync(Socket client, IPEndPoint target)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await upstream.ConnectAsync(target, _stop.Token);
                await Task.WhenAll(CopyAsync(client, upstream), CopyAsync(upstream, client));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Either side went away: both sockets close.
            }
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[4096];
        int n;
        while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
        {
            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
        }

        to.Shutdown(SocketShutdown.Send);
    }
}
