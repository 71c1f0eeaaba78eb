using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// This node's one connection to a peer, multiplexed: every request carries an id, any number are
/// pipelined (up to the in-flight limit, after which senders wait), and replies are matched by id in
/// whatever order they come. A broken connection fails every pending request and is re-opened with
/// back-off; <see cref="StateChanged"/> reports each change.
/// </summary>
internal sealed partial class PeerClient : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly string _localName;
    private readonly string _clusterName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inFlight;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentDictionary<ulong, PendingCall> _pending = new();
    private readonly ITimer _sweeper;
    private readonly CancellationTokenSource _stopping = new();
    private Connection? _connection;
    private Task _running = Task.CompletedTask;
    private long _nextId;

    public PeerClient(string name, IPEndPoint endPoint, string localName, string clusterName, int maxInFlight, TimeProvider time, ILogger logger)
    {
        Name = name;
        EndPoint = endPoint;
        _localName = localName;
        _clusterName = clusterName;
        _time = time;
        _logger = logger;
        _inFlight = new SemaphoreSlim(maxInFlight, maxInFlight);
        _sweeper = time.CreateTimer(static state => ((PeerClient)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    /// <summary>Raised with true when a connection is established (handshake done), false when it is lost.</summary>
    public event Action<PeerClient, bool>? StateChanged;

    /// <summary>Raised whenever any frame arrives from the peer (the failure detector's evidence of life).</summary>
    public event Action<PeerClient>? Heard;

    public string Name { get; }

    public IPEndPoint EndPoint { get; }

    public bool IsConnected => Volatile.Read(ref _connection) is not null;

    public void Start() => _running = RunAsync(_stopping.Token);

    /// <summary>
    /// Sends a request and waits for its reply, the connection's loss, or <paramref name="timeout"/>
    /// (checked every 20 ms by one timer per peer, not a timer per request). With a non-negative
    /// <paramref name="keyLength"/> the payload starts with it as a u32.
    /// </summary>
    public async Task<PeerResponse> CallAsync(FrameType type, int keyLength, ReadOnlyMemory<byte> part1, ReadOnlyMemory<byte> part2, ReadOnlyMemory<byte> part3, TimeSpan timeout)
    {
        if (Volatile.Read(ref _connection) is null)
        {
            throw new PeerUnavailableException(Name);
        }

        if (!await _inFlight.WaitAsync(timeout).ConfigureAwait(false))
        {
            throw new PeerTimeoutException(Name, timeout);
        }

        var id = (ulong)Interlocked.Increment(ref _nextId);
        // Replies complete inline on the receive loop: what runs there is short (a quorum count), and
        // the coordinator's own completion hands the client's continuation to the thread pool.
        var reply = new PendingCall(_time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency), timeout);
        _pending[id] = reply;
        try
        {
            var connection = Volatile.Read(ref _connection);
            if (connection is null || !connection.Outbox.Write(type, id, keyLength, part1.Span, part2.Span, part3.Span))
            {
                throw new PeerUnavailableException(Name);
            }

            return await reply.Task.ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
            _inFlight.Release();
        }
    }

    /// <summary>Drops the current connection (a suspected or misbehaving peer); it is re-opened with back-off.</summary>
    public void Reset() => Volatile.Read(ref _connection)?.Socket.Dispose();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Reset();
        await _running.ConfigureAwait(false);
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        FailPending();
        _stopping.Dispose();
        _inFlight.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (!cancellationToken.IsCancellationRequested)
        {
            var connected = false;
            try
            {
                connected = await ConnectAndServeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // Whatever ended the connection, the loop must live on: this is the peer's only way back.
                LogConnectionLost(_logger, Name, EndPoint, e.Message);
            }
            catch (Exception)
            {
                // Stopping: whatever the socket threw on the way out is moot.
                return;
            }

            backoff = connected ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            try
            {
                await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Fails every request whose deadline has passed.</summary>
    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (_, call) in _pending)
        {
            if (call.Deadline <= now)
            {
                call.TrySetException(new PeerTimeoutException(Name, call.Timeout));
            }
        }
    }

    private sealed record Connection(Socket Socket, FrameOutbox Outbox);

    private sealed class PendingCall(long deadline, TimeSpan timeout) : TaskCompletionSource<PeerResponse>
    {
        public long Deadline { get; } = deadline;

        public TimeSpan Timeout { get; } = timeout;
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Connected to peer {Peer} at {EndPoint}")]
    private static partial void LogConnected(ILogger logger, string peer, IPEndPoint endPoint);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Connection to peer {Peer} at {EndPoint} lost: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string peer, IPEndPoint endPoint, string reason);
}
