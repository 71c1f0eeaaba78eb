using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Store.Hints;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// Accepts peers' connections on the peer address and serves each with an <see cref="InternodeConnection"/>:
/// on the node's event loops when it has them (spread over them), unless every write waits for an
/// fsync, which a loop must not wait for; on the runtime's sockets otherwise.
/// </summary>
internal sealed partial class InternodeListener : IAsyncDisposable, IConnectionDispatcher
{
    private readonly Socket _socket;
    private readonly string _localName;
    private readonly string _clusterName;
    private readonly Replica.Replica _replica;
    private readonly HintStore _hints;
    private readonly Func<byte[], Task<byte[]>> _execute;
    private readonly Func<FrameType, byte[], Task<PeerResponse>>? _membership;
    private readonly ILogger _logger;
    private readonly AntiEntropy.AntiEntropyResponder? _antiEntropy;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (InternodeConnection Connection, IPeerLoop? Loop, Task Serving)> _connections = new();
    private readonly IReadOnlyList<IPeerLoop> _loops;
    private readonly AcceptLoop _accept;
    private long _nextId;

    public InternodeListener(IPEndPoint endPoint, string localName, string clusterName, Replica.Replica replica, HintStore hints, Func<byte[], Task<byte[]>> execute, ILogger logger, AntiEntropy.AntiEntropyResponder? antiEntropy = null, Func<FrameType, byte[], Task<PeerResponse>>? membership = null, IReadOnlyList<IPeerLoop>? loops = null)
    {
        _loops = replica.Settings.Fsync == FsyncMode.Always ? [] : loops ?? [];
        _antiEntropy = antiEntropy;
        _membership = membership;
        _localName = localName;
        _clusterName = clusterName;
        _replica = replica;
        _hints = hints;
        _execute = execute;
        _logger = logger;
        _socket = ListenSocket.Bind(endPoint);
        _accept = new AcceptLoop(_socket, this);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Malformed frames or handshakes seen (each closed its connection).</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    private long _protocolErrors;

    public void Start() => _accept.Start();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accept.StopAsync().ConfigureAwait(false);
        _accept.Dispose();
        _socket.Dispose();
        foreach (var (connection, loop, _) in _connections.Values)
        {
            connection.Abort(loop);
        }

        await Task.WhenAll(_connections.Values.Select(c => c.Serving)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    void IConnectionDispatcher.OnAccepted(Socket socket)
    {
        socket.NoDelay = true;
        var id = Interlocked.Increment(ref _nextId);
        var connection = new InternodeConnection(socket, _localName, _clusterName, _replica, _hints, _execute, _antiEntropy, _membership, OnMalformed);
        var loop = _loops.Count > 0 ? _loops[(int)(id % _loops.Count)] : null;
        var serving = ServeAsync(id, socket, connection, loop);
        _connections[id] = (connection, loop, serving);
    }

    private void OnMalformed(string reason)
    {
        Interlocked.Increment(ref _protocolErrors);
        LogMalformed(_logger, reason);
    }

    void IConnectionDispatcher.OnAcceptError(Exception error) => LogAcceptFailed(_logger, error);

    private async Task ServeAsync(long id, Socket client, InternodeConnection connection, IPeerLoop? loop)
    {
        await Task.Yield();
        try
        {
            await (loop is not null ? connection.RunOnLoopAsync(loop, _stopping.Token) : connection.RunAsync(_stopping.Token)).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            OnMalformed(e.Message);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or this node is stopping.
        }
        catch (Exception e)
        {
            // A fault while applying a frame ends only this connection; the peer reconnects.
            LogFailed(_logger, e);
        }
        finally
        {
            client.Dispose();
            _connections.TryRemove(id, out _);
        }
    }

    [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "A peer connection failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Closed a peer connection that sent a malformed frame: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string reason);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "Accepting a peer connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception);
}
