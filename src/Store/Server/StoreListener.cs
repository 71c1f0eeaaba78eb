using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Server.Epoll;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Server;

/// <summary>
/// The RESP listener over DataPlane.Net's accept loop. Clients are served on epoll loops
/// (<see cref="RespLoop"/>, a cluster node's too: a quorum operation decided on another thread hands
/// its client back to the loop) or on the runtime's sockets, one task per client: straight on its
/// socket for a single node, over pipes for a cluster node. Tasks and loops are tracked so that
/// stopping closes every client and waits.
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
    private readonly RespLoop[]? _loops;
    private int _nextLoop;

    public StoreListener(IPEndPoint endPoint, StoreContext context, ILogger logger)
    {
        _context = context;
        _logger = logger;
        _socket = ListenSocket.Bind(endPoint);
        _accept = new AcceptLoop(_socket, this);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        if (_context.Options.Transport == StoreTransport.Epoll)
        {
            if (!OperatingSystem.IsLinux())
            {
                throw new PlatformNotSupportedException("The epoll transport needs Linux; use StoreTransport.Sockets.");
            }

            // One loop per two cores: on two cores a second loop doubled the CPU per SET at -P 1
            // (both loops contend for the log's lock and wake each other) and halved its throughput;
            // the other core serves the log writer, checkpoints and, on one machine, the clients.
            // Made before the cluster starts, whose peer connections they receive on.
            var loops = _context.Options.EventLoops > 0 ? _context.Options.EventLoops : Math.Max(1, Environment.ProcessorCount / 2);
            _loops = new RespLoop[loops];
            for (var i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new RespLoop(_context, _logger, i);
            }
        }
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The event loops (none on the runtime's sockets): a cluster node's peer connections receive on them too.</summary>
    public IReadOnlyList<RespLoop> Loops => _loops ?? [];

    /// <summary>
    /// Starts accepting. On <see cref="StoreTransport.Epoll"/> clients are served on event loops;
    /// otherwise each client runs its own loop on the runtime's sockets.
    /// </summary>
    public void Start() => _accept.Start();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accept.StopAsync().ConfigureAwait(false);
        _accept.Dispose();
        _socket.Dispose();
        if (_loops is not null)
        {
            await Task.WhenAll(_loops.Select(loop => loop.StopAsync())).ConfigureAwait(false);
        }

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
        if (_loops is not null)
        {
            _loops[(int)((uint)Interlocked.Increment(ref _nextLoop) % (uint)_loops.Length)].Add(socket, id);
            return;
        }

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
