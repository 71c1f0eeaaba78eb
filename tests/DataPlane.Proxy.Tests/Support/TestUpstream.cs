using System.Net;
using System.Net.Sockets;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>A loopback TCP server on an ephemeral port that runs a handler per accepted connection.</summary>
internal sealed class TestUpstream : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<Socket, Task> _handler;
    private readonly List<Task> _handlers = [];
    private readonly Task _accepting;
    private int _accepted;

    public TestUpstream(Func<Socket, Task> handler)
    {
        _handler = handler;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public string Address => EndPoint.ToString();

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Echoes everything, and half-closes after the client's FIN.</summary>
    public static TestUpstream Echo() => new(async socket =>
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                socket.Shutdown(SocketShutdown.Send);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, n));
        }
    });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _accepting;
        _listener.Dispose();
        Task[] running;
        lock (_handlers)
        {
            running = [.. _handlers];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is TimeoutException or ObjectDisposedException or IOException)
        {
            // A handler still blocked or failing at teardown: the test's own assertions already ran.
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_handlers)
            {
                _handlers.Add(RunAsync(socket));
            }
        }
    }

    private async Task RunAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                await _handler(socket);
            }
            catch (SocketException)
            {
                // The proxy reset or closed the connection: the test decides whether that was expected.
            }
        }
    }
}
