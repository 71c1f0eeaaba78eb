using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Store.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Server;

/// <summary>
/// The RESP listener over DataPlane.Net's accept loop: one task per connection, tracked so that
/// stopping closes them all and waits.
/// </summary>
internal sealed partial class StoreListener : IAsyncDisposable, IConnectionDispatcher
{
    private readonly Socket _socket;
    private readonly StoreContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, SocketConnection> _connections = new();
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly AcceptLoop _accept;

    public StoreListener(IPEndPoint endPoint, StoreContext context, ILogger logger)
    {
        _context = context;
        _logger = logger;
        _socket = ListenSocket.Bind(endPoint);
        _accept = new AcceptLoop(_socket, this);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public void Start() => _accept.Start();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accept.StopAsync().ConfigureAwait(false);
        _accept.Dispose();
        _socket.Dispose();
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }

        await Task.WhenAll(_running.Values).ConfigureAwait(false);
        _stopping.Dispose();
    }

    void IConnectionDispatcher.OnAccepted(Socket socket)
    {
        socket.NoDelay = true;
        var id = _context.Stats.Opened();
        _running[id] = ServeAsync(id, socket);
    }

    void IConnectionDispatcher.OnAcceptError(Exception error) => LogAcceptFailed(_logger, error);

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

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Accepting a connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception);
}
