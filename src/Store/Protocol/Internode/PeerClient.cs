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
    /// <summary>How often requests in flight are checked for their timeouts.</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly string _localName;
    private readonly string _clusterName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IPeerLoop? _loop;

    private readonly ITimer? _sweeper;
    private readonly CancellationTokenSource _stopping = new();
    private Connection? _connection;
    private Task _running = Task.CompletedTask;

    public PeerClient(string name, IPEndPoint endPoint, string localName, string clusterName, int maxInFlight, TimeProvider time, ILogger logger, IPeerLoop? loop = null)
    {
        Name = name;
        EndPoint = endPoint;
        _localName = localName;
        _clusterName = clusterName;
        _time = time;
        _logger = logger;
        _loop = loop;
        _slots = new Slot[maxInFlight];
        _free = new int[maxInFlight];
        for (var i = 0; i < maxInFlight; i++)
        {
            // Slot 0 on top: the sweep scans only up to the highest slot ever used.
            _free[i] = maxInFlight - 1 - i;
        }

        _freeCount = maxInFlight;
        // A loop sweeps the requests of the connections it receives on (an idle node's timer woke a pool
        // thread 50 times a second per peer, each wake spinning it for work: 6% of a core, idle).
        _sweeper = loop is null ? time.CreateTimer(static state => ((PeerClient)state!).Sweep(), this, SweepInterval, SweepInterval) : null;
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
    /// Sends a request whose outcome goes to <paramref name="handler"/> with <paramref name="token"/>:
    /// its reply, its loss with the connection, or its timeout (checked every 20 ms by the loop that
    /// receives the replies, or one timer per peer without one; not a timer per request); <see cref="IPeerReplyHandler.OnSlow"/> once it has waited
    /// <paramref name="slowAfter"/> (never when zero). With a non-negative <paramref name="keyLength"/>
    /// the payload starts with it as a u32. Nothing is allocated per request while a slot is free: when
    /// every in-flight slot is taken the request waits in a queue for one (back-pressure), up to its
    /// timeout, its payload copied into a pooled buffer meanwhile (and heard slow as in flight). <paramref name="now"/>, when given, is this client's
    /// <see cref="TimeProvider.GetTimestamp"/> read by the caller for several sends (a clock read costs
    /// about as much as the rest of a send on this machine kind).
    /// </summary>
    /// <returns>False when there is no connection: the handler is then never called. True means it is called exactly once, possibly before this returns.</returns>
    public bool TrySend(FrameType type, int keyLength, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2, ReadOnlySpan<byte> part3, TimeSpan timeout, TimeSpan slowAfter, IPeerReplyHandler handler, int token, long? now = null)
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is null)
        {
            return false;
        }

        if (!TryRentSlot(type, keyLength, part1, part2, part3, timeout, slowAfter, handler, token, out var index))
        {
            // Every slot is taken: the request waits in the queue for one (back-pressure), up to its timeout;
            // or the connection went meanwhile, and nothing was queued.
            return index == Queued;
        }

        var sentAt = now ?? _time.GetTimestamp();
        var id = Arm(index, handler, token, sentAt, sentAt + Ticks(timeout), slowAfter > TimeSpan.Zero ? sentAt + Ticks(slowAfter) : 0);
        if (connection.Outbox.Write(type, id, keyLength, part1, part2, part3))
        {
            return true;
        }

        // The connection closed meanwhile: unless its loss already failed the request, nothing was sent.
        return !TryClaim(id, out _, out _, out _);
    }

    /// <summary>Sends a request and waits for its reply (for requests off the hot path: heartbeats, hints, forwarded commands).</summary>
    public Task<PeerResponse> CallAsync(FrameType type, int keyLength, ReadOnlyMemory<byte> part1, ReadOnlyMemory<byte> part2, ReadOnlyMemory<byte> part3, TimeSpan timeout)
    {
        var call = new PendingCall(Name, timeout);
        return TrySend(type, keyLength, part1.Span, part2.Span, part3.Span, timeout, TimeSpan.Zero, call, 0)
            ? call.Task
            : Task.FromException<PeerResponse>(new PeerUnavailableException(Name));
    }

    /// <summary>Drops the current connection (a suspected or misbehaving peer); it is re-opened with back-off.</summary>
    public void Reset() => Volatile.Read(ref _connection)?.Drop();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Reset();
        await _running.ConfigureAwait(false);
        if (_sweeper is not null)
        {
            await _sweeper.DisposeAsync().ConfigureAwait(false);
        }

        FailPending();
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (!cancellationToken.IsCancellationRequested)
        {
            var connected = false;
            var started = _time.GetTimestamp();
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

            // A connection that served a while earns a quick reconnect. One that ended within the longest back-off
            // (a peer that sends a malformed frame right after its handshake, or dies at once) backs off as a refused
            // connect does: reset after every handshake, two nodes reconnected 333 times in 10 s to such a peer.
            var served = connected && _time.GetElapsedTime(started) >= MaxBackoff;
            backoff = served ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
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

    /// <summary>
    /// One established connection to the peer; <see cref="Ending"/> fires when it closes. With a
    /// <see cref="Receiver"/> its socket belongs to <see cref="Loop"/>, which alone closes it.
    /// </summary>
    internal sealed record Connection(Socket Socket, FrameOutbox Outbox, CancellationToken Ending, IPeerLoop? Loop = null, ILoopConnection? Receiver = null)
    {
        /// <summary>Closes the connection (any thread): through its loop when one receives on it, since only the loop may close an fd it reads.</summary>
        public void Drop()
        {
            if (Loop is not null && Receiver is not null)
            {
                Loop.Drop(Receiver);
            }
            else
            {
                Socket.Dispose();
            }
        }
    }

    /// <summary>
    /// A request awaited as a task. Its continuation runs on the thread pool: the reply may arrive on a
    /// client event loop, which must not run a caller's work (hint delivery, anti-entropy, a rebalance).
    /// </summary>
    private sealed class PendingCall(string peer, TimeSpan timeout) : TaskCompletionSource<PeerResponse>(TaskCreationOptions.RunContinuationsAsynchronously), IPeerReplyHandler
    {
        public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload) => TrySetResult(new PeerResponse(type, payload.ToArray()));

        public void OnFailure(int token, PeerFailure failure) =>
            TrySetException(failure == PeerFailure.Timeout ? new PeerTimeoutException(peer, timeout) : new PeerUnavailableException(peer));

        public void OnSlow(int token)
        {
            // A caller that awaits the whole call has no use for an early warning.
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Connected to peer {Peer} at {EndPoint}")]
    private static partial void LogConnected(ILogger logger, string peer, IPEndPoint endPoint);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Connection to peer {Peer} at {EndPoint} lost: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string peer, IPEndPoint endPoint, string reason);
}
