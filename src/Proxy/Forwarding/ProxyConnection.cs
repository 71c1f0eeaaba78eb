using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Upstreams;
using DataPlane.Ring;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// One client connection through the proxy: pick and connect an upstream (with retries on other
/// upstreams), then copy both ways. Instances are pooled with their two pipes; nothing else is
/// allocated per connection but the sockets the runtime creates.
/// </summary>
internal sealed partial class ProxyConnection : IDisposable
{
    private readonly IConnectionHost _host;
    // The runtime sockets' copy loops only: an epoll pair copies through its own two buffers.
    private readonly Pipe? _toUpstream;
    private readonly Pipe? _toClient;
    private readonly DirectionObserver _fromClient;
    private readonly DirectionObserver _fromUpstream;
    private readonly Func<bool> _shutdownOnEnd;
    private CancellationTokenSource _cancel = new();
    private readonly int _pauseThreshold;
    private readonly int _resumeThreshold;
    private Socket? _client;
    private Socket? _upstreamSocket;

    // The epoll transport's descriptors; a Socket above, when there is one, owns and closes them.
    private int _clientFd = -1;
    private int _upstreamFd = -1;
    private Upstream? _upstream;
    private long _startedAt;
    private int _aborted;
    private bool _copyStarted;
    private int _sendsEnded;
    private readonly EpollPair? _pair;
    private int _pairBusy;
    private int _pairReturned;
    private bool _closeWithReset;
    private readonly Action _ran;
    private ValueTaskAwaiter _run;

    /// <summary>Creates a connection whose epoll pair (with that transport) runs on loop <paramref name="loop"/>.</summary>
    public ProxyConnection(IConnectionHost host, ProxyOptions options, int loop)
    {
        _host = host;
        if (options.Transport != ProxyTransport.Epoll)
        {
            var pipeOptions = new PipeOptions(
                pauseWriterThreshold: options.PauseThreshold,
                resumeWriterThreshold: options.ResumeThreshold,
                minimumSegmentSize: options.BufferSize,
                readerScheduler: PipeScheduler.Inline,
                writerScheduler: PipeScheduler.Inline,
                useSynchronizationContext: false);
            _toUpstream = new Pipe(pipeOptions);
            _toClient = new Pipe(pipeOptions);
        }

        BufferSize = options.BufferSize;
        _pauseThreshold = options.PauseThreshold;
        _resumeThreshold = options.ResumeThreshold;
        _fromClient = new DirectionObserver(this, toUpstream: true);
        _fromUpstream = new DirectionObserver(this, toUpstream: false);
        _shutdownOnEnd = FirstToEnd;
        _ran = OnRan;
        Transport = options.Transport;
        LoopIndex = loop;
        _pair = options.Transport == ProxyTransport.Epoll ? EpollTransport.Shared.CreatePair(options.BufferSize, loop) : null;
    }

    /// <summary>The epoll loop its pair runs on (its pool's index with either transport).</summary>
    public int LoopIndex { get; }

    /// <summary>The socket engine this instance was built for.</summary>
    public ProxyTransport Transport { get; }

    /// <summary>The buffer size the pipes were made for (a pooled instance is reused only with the same settings).</summary>
    public int BufferSize { get; }

    /// <summary>Timestamp of the last byte moved either way (the idle timeout's clock).</summary>
    public long LastActivity;

    /// <summary>Whether the connection was aborted (it stays listed until its loops let go of it).</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>Links of the host's list of open connections.</summary>
    public ProxyConnection? Previous;

    /// <summary>Links of the host's list of open connections.</summary>
    public ProxyConnection? Next;

    /// <summary>The upstream this connection went to (null while connecting or when none could be reached).</summary>
    public Upstream? Upstream => _upstream;

    /// <summary>Starts the connection of an accepted runtime socket; it runs to its end, then the instance goes back to the host. Never throws.</summary>
    public void Start(Socket client, ProxyOptions options)
    {
        _client = client;
        if (_pair is not null)
        {
            _clientFd = (int)client.Handle;
        }

        Run(RunAsync(options.Policy == BalancingPolicy.RingHash ? HashOf(client.RemoteEndPoint) : 0, options));
    }

    /// <summary>
    /// Starts the connection of a descriptor the epoll loop accepted (no runtime Socket is made for it);
    /// <paramref name="clientHash"/> is the client address's ring hash. It runs to its end, then the
    /// instance goes back to the host. Never throws.
    /// </summary>
    public void Start(int clientFd, ulong clientHash, ProxyOptions options)
    {
        _clientFd = clientFd;
        Run(RunAsync(clientHash, options));
    }

    /// <summary>The ring hash of a client address in sockaddr form, as <see cref="HashOf(EndPoint)"/> hashes its IPAddress.</summary>
    public static ulong HashOf(ReadOnlySpan<byte> sockaddr) =>
        sockaddr.Length >= 8 && sockaddr[0] == 2 ? RingHash.Hash(sockaddr.Slice(4, 4))
        : sockaddr.Length >= 24 && sockaddr[0] == 10 ? RingHash.Hash(sockaddr.Slice(8, 16))
        : 0;

    /// <summary>
    /// Awaits the connection's run (a new one's or an adopted one's) here, not in the caller, which has
    /// nothing to wait for: taking the result gives the pooled state machine back, and only after that
    /// is this instance pooled for its next connection (whose run then stores its own). A Task per
    /// connection was an allocation per connection, a gen0 collection every few seconds with a new
    /// connection per request.
    /// </summary>
    private void Run(ValueTask run)
    {
        _run = run.GetAwaiter();
        if (_run.IsCompleted)
        {
            OnRan();
        }
        else
        {
            _run.UnsafeOnCompleted(_ran);
        }
    }

    private void OnRan()
    {
        var run = _run;
        _run = default;
        try
        {
            run.GetResult();
        }
        catch (Exception e)
        {
            // Only the release of the connection's resources can throw: half released, the instance is
            // not pooled (and the loop that completed the run must not die of it).
            _host.OnUnexpected(e);
            return;
        }

        _host.Return(this);
    }

    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder))]
    private async ValueTask RunAsync(ulong clientHash, ProxyOptions options)
    {
        _pair?.Begin();
        _startedAt = _host.Time.GetTimestamp();
        try
        {
            if (await ConnectAsync(clientHash, options))
            {
                Volatile.Write(ref _copyStarted, true);
                await CopyAsync();
            }
            else if (Volatile.Read(ref _aborted) == 0)
            {
                // All upstreams down, or all tries failed: close the client at once rather than leave it hanging.
                _host.OnNoUpstream();
                Abort(reset: false);
            }
        }
        catch (Exception e)
        {
            _host.OnUnexpected(e);
            Abort(reset: true);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Closes both sockets now (idle timeout, drain deadline): pending operations end with errors. Put
    /// off while the pair is frozen for a migration, and never done once it migrated: the sockets are
    /// shared with the new process then, and a linger-0 close would reset them there too.
    /// </summary>
    public void Abort(bool reset)
    {
        if (_pair is not null)
        {
            AbortPair(reset);
            return;
        }

        if (Interlocked.Exchange(ref _aborted, 1) != 0 || HandedOverOrFrozen)
        {
            return;
        }

        Close(_client, reset);
        Close(_upstreamSocket, reset);
    }

    /// <summary>Whether a pooled instance was built for these buffer settings.</summary>
    public bool Fits(ProxyOptions options) =>
        options.BufferSize == BufferSize && options.PauseThreshold == _pauseThreshold && options.ResumeThreshold == _resumeThreshold
        && options.Transport == Transport;

    /// <summary>Makes the instance ready for the next connection; false when it cannot be reused.</summary>
    public bool TryReset()
    {
        if (!TryResetMigration())
        {
            return false;
        }

        // With the epoll transport there are no pipes: resetting pipes it never completed would throw
        // (and cost an exception and a new instance per connection).
        if (_copyStarted && _toUpstream is not null && _toClient is not null)
        {
            try
            {
                _toUpstream.Reset();
                _toClient.Reset();
            }
            catch (InvalidOperationException)
            {
                // A loop was cancelled rather than completed: its pipe is not reusable.
                return false;
            }
        }

        if (!_cancel.TryReset())
        {
            _cancel.Dispose();
            _cancel = new CancellationTokenSource();
        }

        _client = null;
        _upstreamSocket = null;
        _clientFd = -1;
        _upstreamFd = -1;
        _upstream = null;
        _aborted = 0;
        _copyStarted = false;
        _sendsEnded = 0;
        _pairBusy = 0;
        _closeWithReset = false;
        Previous = null;
        Next = null;
        return true;
    }

    public void Dispose()
    {
        _cancel.Dispose();
        _receiveStop.Dispose();
        if (_pair is not null && Interlocked.Exchange(ref _pairReturned, 1) == 0)
        {
            EpollTransport.Shared.Return(_pair);
        }
    }

    /// <summary>Wraps a descriptor in a runtime Socket that owns it (for a migration, which hands Sockets over; a few system calls).</summary>
    internal static Socket Wrap(int fd) => new(new SafeSocketHandle(fd, ownsHandle: true));

    private static ulong HashOf(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint ip)
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        return ip.Address.TryWriteBytes(bytes, out var written) ? RingHash.Hash(bytes[..written]) : 0;
    }

    /// <summary>Closes one end: through its Socket when it has one, else its descriptor (at most once).</summary>
    private static void Close(Socket? socket, ref int fd, bool reset)
    {
        if (socket is not null)
        {
            Close(socket, reset);
            return;
        }

        var descriptor = Interlocked.Exchange(ref fd, -1);
        if (descriptor >= 0)
        {
            EpollNative.CloseSocket(descriptor, reset);
        }
    }

    private static void Close(Socket? socket, bool reset)
    {
        if (socket is null)
        {
            return;
        }

        if (reset)
        {
            try
            {
                // Linger 0: close sends RST, so a reset on one side stays a reset on the other.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone: nothing to reset.
            }
        }

        socket.Dispose();
    }

    private void Release()
    {
        var upstream = _upstream;
        var migrated = Volatile.Read(ref _migration) == Migrated;
        if (upstream is not null)
        {
            upstream.OnReleased();
            if (!migrated)
            {
                _host.OnClosed(upstream, _host.Time.GetElapsedTime(_startedAt));
            }
        }

        // A migration that asked while the copy failed unexpectedly hears that this pair cannot move.
        Volatile.Read(ref _request)?.CannotMove();

        // Migrated: nothing is pending on either socket, so this is a plain close(2) of this process's
        // descriptors; the new process's copies stay intact.
        Close(_client, ref _clientFd, _closeWithReset && !migrated);
        Close(_upstreamSocket, ref _upstreamFd, _closeWithReset && !migrated);
    }
}
