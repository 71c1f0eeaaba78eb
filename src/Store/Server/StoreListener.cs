using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Store.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Server;

/// <summary>
/// The RESP listener over DataPlane.Net's accept loop: one task per connection, tracked so that
/// stopping closes them all and waits. A single node serves each client straight on its socket; a
/// cluster node's clients run over pipes (their replies may wait for other nodes).
/// </summary>
internal sealed partial class StoreListener : IAsyncDisposable, IConnectionDispatcher
{
    private readonly Socket _socket;
    private readonly StoreContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Socket> _connections = new();
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
        foreach (var socket in _connections.Values)
        {
            // Ends the connection's pending receive; its loop then finishes.
            socket.Dispose();
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
        _connections[id] = client;
        var transport = _context.ClusterCommands is null ? null : new SocketConnection(client, RespParser.MaxRequestBytes);
        try
        {
            transport?.Start();
            using var connection = transport is null ? new RespConnection(client, _context, id) : new RespConnection(transport, _context, id);
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
            if (transport is not null)
            {
                await transport.DisposeAsync().ConfigureAwait(false);
            }

            client.Dispose();
            _context.Stats.Closed();
            _running.TryRemove(id, out _);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Connection {Id} ended with an error")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception, long id);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Accepting a connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception);
}
