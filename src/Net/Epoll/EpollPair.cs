using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace DataPlane.Net.Epoll;

/// <summary>
/// A client socket and an upstream socket joined by one epoll loop: the loop connects the upstream
/// and then copies both ways until both FINs have passed, a reset, or an abort. One instance serves
/// one connection at a time and is reused (its generation tells the connections apart); its two
/// buffers are pinned once for its whole life. Its state is touched only on its loop's thread,
/// except where a method says otherwise.
/// </summary>
internal sealed unsafe partial class EpollPair : IValueTaskSource<SocketError>, IValueTaskSource<PairResult>
{
    private const int ClientSide = 0;
    private const int UpstreamSide = 1;
    private readonly EpollLoop _loop;
    private readonly int _slot;
    private readonly Direction _toUpstream;
    private readonly Direction _toClient;
    private ManualResetValueTaskSourceCore<SocketError> _connect;
    private ManualResetValueTaskSourceCore<PairResult> _forward;
    private uint _generation;
    private int _state;
    private uint _connection;
    private int _abortRequested;
    private bool _pausing;
    private int _clientFd = -1;
    private int _upstreamFd = -1;

    /// <summary>The index of the loop the pair is bound to.</summary>
    public int LoopIndex => _loop.Index;

    /// <summary>Bytes each direction buffers.</summary>
    public int BufferSize { get; }

    /// <summary>Written by the owner before a registration or by the loop; read by the loop.</summary>
    private PairState State
    {
        get => (PairState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    internal EpollPair(EpollLoop loop, int slot, int bufferSize)
    {
        _loop = loop;
        _slot = slot;
        BufferSize = bufferSize;
        _toUpstream = new Direction(bufferSize, ClientSide);
        _toClient = new Direction(bufferSize, UpstreamSide);
    }

    private enum PairState
    {
        Idle = 0,
        Connecting,
        Connected,
        Forwarding,
        Paused,
    }

    /// <summary>
    /// Starts a new connection of the owner's (any thread): from here until the next call,
    /// <see cref="Abort"/> ends whatever this connection is doing or is about to do.
    /// </summary>
    public void Begin()
    {
        Volatile.Write(ref _abortRequested, 0);
        Interlocked.Increment(ref _connection);
    }

    /// <summary>
    /// Connects <paramref name="upstreamFd"/> (a fresh non-blocking socket) to <paramref name="address"/>.
    /// Completes with <see cref="SocketError.Success"/>, the connect's error, <see cref="SocketError.TimedOut"/>
    /// once <paramref name="timeout"/> passed (the loop keeps the deadline), or
    /// <see cref="SocketError.OperationAborted"/> after <see cref="Abort"/>. Called by the owner, on any
    /// thread (on the pair's loop it costs no hop); a connection may try several upstreams one after another.
    /// </summary>
    public ValueTask<SocketError> ConnectAsync(int upstreamFd, SocketAddress address, TimeSpan timeout)
    {
        if (Volatile.Read(ref _abortRequested) != 0)
        {
            return new ValueTask<SocketError>(SocketError.OperationAborted);
        }

        Prepare(upstreamFd);
        _connect.Reset();
        var version = _connect.Version;
        int result;
        fixed (byte* sockaddr = address.Buffer.Span)
        {
            result = EpollNative.Connect(_upstreamFd, sockaddr, address.Size);
        }

        var errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        if (errno is not 0 and not EpollNative.Einprogress)
        {
            return new ValueTask<SocketError>(ToSocketError(errno));
        }

        Deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

        // From the registration on, only the loop moves this attempt on (even one that connected at
        // once: its first event says writable and completes it), so there is one writer of the state.
        var onLoop = _loop.IsCurrent;
        var registered = RegisterUpstream(PairState.Connecting);
        if (registered != 0)
        {
            State = PairState.Idle;
            return new ValueTask<SocketError>(ToSocketError(registered));
        }

        if (onLoop)
        {
            // The loop runs nothing of this pair before this returns: the deadline is in place first.
            _loop.Deadlines.Add(this);
        }
        else
        {
            _loop.Post(new EpollLoop.Command(this, Volatile.Read(ref _generation), EpollLoop.CommandKind.ArmDeadline));
        }

        return new ValueTask<SocketError>(this, version);
    }

    /// <summary>
    /// Copies between <paramref name="clientFd"/> and the upstream connected by the last
    /// <see cref="ConnectAsync"/> until the connection ends. Called by the owner, on any thread, once
    /// per successful connect.
    /// </summary>
    public ValueTask<PairResult> ForwardAsync(int clientFd, ITransferObserver toUpstream, ITransferObserver toClient)
    {
        if (State == PairState.Paused)
        {
            // Resumed after a pause: the sockets are registered already; the loop pumps what came meanwhile.
            _forward.Reset();
            var resumed = _forward.Version;
            _loop.Post(new EpollLoop.Command(this, Volatile.Read(ref _connection), EpollLoop.CommandKind.Resume));
            return new ValueTask<PairResult>(this, resumed);
        }

        _clientFd = clientFd;
        _toUpstream.Bind(_clientFd, _upstreamFd, toUpstream);
        _toClient.Bind(_upstreamFd, _clientFd, toClient);
        _forward.Reset();
        var version = _forward.Version;
        if (_loop.IsCurrent)
        {
            StartForward();
            return new ValueTask<PairResult>(this, version);
        }

        if (Volatile.Read(ref _abortRequested) != 0)
        {
            return new ValueTask<PairResult>(PairResult.Aborted);
        }

        // Off the loop: no hop to it. Once the state says forwarding, the loop pumps on the next event
        // of either socket, and registering the client brings one (a fresh socket is writable). The
        // loop only marks flags of the other direction meanwhile, so these writes do not race with it.
        _toClient.Writable = true;
        State = PairState.Forwarding;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _abortRequested) != 0
            || _loop.Register(_clientFd, EpollTransport.Tag(_slot, _generation, ClientSide)) != 0)
        {
            // An abort the loop may have dropped while the state still said connected, or a failed
            // registration: either way the loop ends the forward.
            _loop.Post(new EpollLoop.Command(this, Volatile.Read(ref _connection), EpollLoop.CommandKind.Abort));
        }

        return new ValueTask<PairResult>(this, version);
    }

    /// <summary>Ends the connection's connect or forward soon, or the one it is about to start (any thread).</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _abortRequested, 1);
        _loop.Post(new EpollLoop.Command(this, Volatile.Read(ref _connection), EpollLoop.CommandKind.Abort));
    }

    /// <summary>
    /// Asks the forward to stop at a quiet point (any thread): nothing more is received, what was
    /// received is sent, and then it completes with <see cref="PairResult.Paused"/>, both sockets
    /// registered and untouched otherwise. <see cref="ForwardAsync"/> resumes it.
    /// </summary>
    public void Pause() => _loop.Post(new EpollLoop.Command(this, Volatile.Read(ref _connection), EpollLoop.CommandKind.Pause));

    /// <summary>After a pause: the client's FIN had arrived and was passed on.</summary>
    public bool ClientEnded => _toUpstream.Ended;

    /// <summary>After a pause: the upstream's FIN had arrived and was passed on.</summary>
    public bool UpstreamEnded => _toClient.Ended;

    /// <summary>
    /// Takes over a connected upstream another process paused (owner's thread, after
    /// <see cref="Begin"/>); <see cref="ForwardAsync"/> then runs it from where it stopped.
    /// </summary>
    public bool Adopt(int upstreamFd, bool clientEnded, bool upstreamEnded)
    {
        Prepare(upstreamFd);
        _toUpstream.Eof = _toUpstream.Ended = clientEnded;
        _toClient.Eof = _toClient.Ended = upstreamEnded;
        return RegisterUpstream(PairState.Connected) == 0;
    }

    /// <summary>A new attempt's upstream, with both directions empty (owner's thread, nothing registered yet).</summary>
    private void Prepare(int upstreamFd)
    {
        _clientFd = -1;
        _upstreamFd = upstreamFd;
        _toUpstream.Reset();
        _toClient.Reset();
    }

    /// <summary>
    /// A new generation, then <paramref name="state"/>, then the upstream's registration: from the new
    /// generation on an event left from the last attempt is dropped, and the registration's system call
    /// publishes both before the loop can see this attempt. An errno, or 0.
    /// </summary>
    private int RegisterUpstream(PairState state)
    {
        var generation = unchecked(_generation + 1);
        Volatile.Write(ref _generation, generation);
        State = state;
        return _loop.Register(_upstreamFd, EpollTransport.Tag(_slot, generation, UpstreamSide));
    }

    /// <summary>When the current connect attempt times out (a Stopwatch timestamp); the loop's deadline list reads it.</summary>
    internal long Deadline;

    /// <summary>Links of the loop's deadline list.</summary>
    internal EpollPair? DeadlineNext;

    /// <summary>Links of the loop's deadline list.</summary>
    internal EpollPair? DeadlinePrevious;

    /// <summary>Whether the pair is in its loop's deadline list.</summary>
    internal bool HasDeadline;

    /// <summary>The loop found the connect's deadline passed (loop thread; the list let go of the pair already).</summary>
    internal void OnConnectDeadline()
    {
        if (State == PairState.Connecting)
        {
            CompleteConnect(SocketError.TimedOut);
        }
    }

    /// <summary>A command from another thread, on the loop thread: aborts name the connection, the others the attempt.</summary>
    internal void Run(EpollLoop.Command command)
    {
        switch (command.Kind)
        {
            case EpollLoop.CommandKind.ArmDeadline when command.Id == _generation && State == PairState.Connecting && !HasDeadline:
                _loop.Deadlines.Add(this);
                break;
            case EpollLoop.CommandKind.Abort when command.Id == Volatile.Read(ref _connection) && State == PairState.Connecting:
                CompleteConnect(SocketError.OperationAborted);
                break;
            case EpollLoop.CommandKind.Abort when command.Id == Volatile.Read(ref _connection) && State == PairState.Forwarding:
                Finish(PairResult.Aborted);
                break;
            case EpollLoop.CommandKind.Pause when command.Id == Volatile.Read(ref _connection) && State == PairState.Forwarding:
                _pausing = true;
                Pump();
                break;
            case EpollLoop.CommandKind.Resume when command.Id == Volatile.Read(ref _connection) && State == PairState.Paused:
                State = PairState.Forwarding;
                Pump();
                break;
        }
    }

    /// <summary>An epoll event for one of this pair's sockets, on the loop thread.</summary>
    internal void OnEvent(uint generation, int side, uint events)
    {
        if (generation != _generation || State == PairState.Idle)
        {
            // Left over from an earlier connection of this pooled pair.
            return;
        }

        if (State == PairState.Connecting)
        {
            OnConnectEvent(events);
            return;
        }

        Mark(side, events);
        if (State == PairState.Forwarding)
        {
            Pump();
        }
    }

    private void StartForward()
    {
        if (State != PairState.Connected || Volatile.Read(ref _abortRequested) != 0)
        {
            Finish(PairResult.Aborted);
            return;
        }

        State = PairState.Forwarding;
        if (_loop.Register(_clientFd, EpollTransport.Tag(_slot, _generation, ClientSide)) != 0)
        {
            Finish(PairResult.Failed);
            return;
        }

        // The client is assumed writable and waits for its first edge to be read; the upstream may
        // already have spoken while the forward was being set up.
        _toClient.Writable = true;
        Pump();
    }

    private void OnConnectEvent(uint events)
    {
        if ((events & (EpollNative.EpollOut | EpollNative.EpollErr | EpollNative.EpollHup)) == 0)
        {
            return;
        }

        // epoll reports a failed connect with EPOLLERR: writable without it means connected, and the
        // pending error is read only for a failure (HAProxy's sock_conn_check does the same).
        var failed = (events & (EpollNative.EpollErr | EpollNative.EpollHup)) != 0;
        var error = failed ? EpollNative.PendingError(_upstreamFd) : 0;
        if (Volatile.Read(ref _abortRequested) != 0)
        {
            CompleteConnect(SocketError.OperationAborted);
        }
        else if (error == 0 && !failed)
        {
            Mark(UpstreamSide, events);
            CompleteConnect(SocketError.Success);
        }
        else
        {
            CompleteConnect(error == 0 ? SocketError.ConnectionRefused : ToSocketError(error));
        }
    }

    /// <summary>Records what an edge says: which side may be read, which may be written.</summary>
    private void Mark(int side, uint events)
    {
        var (from, to) = side == ClientSide ? (_toUpstream, _toClient) : (_toClient, _toUpstream);
        if ((events & (EpollNative.EpollIn | EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            from.Readable = true;
        }

        // The first hang-up an edge shows decides whether a short read may stand for the end: a FIN
        // alone does; a hang-up or an error (then or later) must be read to the end or the error.
        if ((events & (EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            from.FinOnly = false;
        }
        else if ((events & EpollNative.EpollRdHup) != 0 && !from.HungUp)
        {
            from.FinOnly = true;
        }

        if ((events & (EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            from.HungUp = true;
        }

        if ((events & (EpollNative.EpollOut | EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            to.Writable = true;
        }
    }

    private void CompleteConnect(SocketError error)
    {
        _loop.Deadlines.Remove(this);
        State = error == SocketError.Success ? PairState.Connected : PairState.Idle;

        // Last: the owner's continuation may run inline and start the forward (or the next connect).
        _connect.SetResult(error);
    }

    private void Finish(PairResult result)
    {
        State = result == PairResult.Paused ? PairState.Paused : PairState.Idle;
        _pausing = false;

        // Last: the owner's continuation may run inline, close the sockets and reuse this pair.
        _forward.SetResult(result);
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        111 => SocketError.ConnectionRefused,
        110 => SocketError.TimedOut,
        104 => SocketError.ConnectionReset,
        101 => SocketError.NetworkUnreachable,
        113 => SocketError.HostUnreachable,
        99 => SocketError.AddressNotAvailable,
        24 or 23 => SocketError.TooManyOpenSockets,
        _ => SocketError.SocketError,
    };

    SocketError IValueTaskSource<SocketError>.GetResult(short token) => _connect.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<SocketError>.GetStatus(short token) => _connect.GetStatus(token);

    void IValueTaskSource<SocketError>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _connect.OnCompleted(continuation, state, token, flags);

    PairResult IValueTaskSource<PairResult>.GetResult(short token) => _forward.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<PairResult>.GetStatus(short token) => _forward.GetStatus(token);

    void IValueTaskSource<PairResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _forward.OnCompleted(continuation, state, token, flags);
}
