using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Store.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Server;

/// <summary>
/// The accept loop: one task per connection, tracked so that stopping closes them all and waits.
/// Lives here until src/Net (being built beside this change) offers the shared accept loop.
/// </summary>
internal sealed partial class StoreListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StoreContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, SocketConnection> _connections = new();
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private Task _accepting = Task.CompletedTask;

    public StoreListener(IPEndPoint endPoint, StoreContext context, ILogger logger)
    {
        _context = context;
        _logger = logger;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        ListenSocket.AllowRebind(_socket);
        _socket.Bind(endPoint);
        _socket.Listen(512);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public void Start() => _accepting = AcceptAsync();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _accepting.ConfigureAwait(false);
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }

        await Task.WhenAll(_running.Values).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            client.NoDelay = true;
            var id = _context.Stats.Opened();
            _running[id] = ServeAsync(id, client);
        }
    }

    private async Task ServeAsync(long id, Socket client)
    {
        await Task.Yield();
        var transport = new SocketConnection(client, RespParser.MaxRequestBytes);
        _connections[id] = transport;
        try
        {
            transport.Start();
            using var connection = new RespConnection(transport, _context, id);
            await connection.RunAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: the connection closes with the server.
        }
        catch (Exception e)
        {
            LogConnectionFailed(_logger, e, id);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            await transport.DisposeAsync().ConfigureAwait(false);
            _context.Stats.Closed();
            _running.TryRemove(id, out _);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Connection {Id} ended with an error")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception, long id);
}
