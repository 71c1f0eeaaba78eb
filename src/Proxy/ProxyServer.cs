using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Balancing;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Health;
using DataPlane.Proxy.Metrics;
using DataPlane.Proxy.RateLimiting;
using DataPlane.Proxy.Upstreams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Proxy;

/// <summary>
/// One listener of the TCP sidecar proxy with its upstream cluster: accepts clients, limits them,
/// picks an upstream (skipping unhealthy, ejected and breaker-open ones), connects with a timeout and
/// retries, and copies bytes both ways until either side is done.
/// </summary>
/// <example>
/// <code>
/// await using var proxy = new ProxyServer(new ProxyOptions
/// {
///     Listen = new IPEndPoint(IPAddress.Loopback, 10000),
///     Upstreams = [new UpstreamOptions("127.0.0.1:10001"), new UpstreamOptions("127.0.0.1:10002")],
///     Policy = BalancingPolicy.LeastConnections,
/// });
/// await proxy.StartAsync();
/// </code>
/// </example>
public sealed partial class ProxyServer : IAsyncDisposable, IConnectionDispatcher, IEpollAcceptHandler, IConnectionHost
{
    // Pooled connection objects kept for reuse; more than this are left to the GC.
    private const int PoolLimit = 1024;

    // At most one log line of failed accepts and sockets per this many milliseconds.
    private const long ResourceErrorLogPeriodMs = 1000;

    private readonly ConnectionList _connections = new(Environment.ProcessorCount);
    // One pool per epoll loop (its connections' pairs run there), so a loop's accept rents a pair of its own.
    private readonly ConcurrentQueue<ProxyConnection>[] _pools = CreatePools(Environment.ProcessorCount);
    private readonly UpstreamCluster _cluster;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ProxyMetrics? _metrics;
    private readonly HealthProber _prober;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ProxyOptions _options;
    private ClientRateLimiter? _limiter;
    private Socket? _listener;
    private IPEndPoint? _localEndPoint;
    private IAcceptor? _accept;
    private int _nextLoop;
    private long _created;
    private ITimer? _idleSweep;
    private int _open;
    private long _rateLimited;
    private long _overLimit;
    private long _noUpstream;
    private long _idleClosed;
    private long _acceptErrors;
    private long _resourceErrors;
    private long _resourceErrorLoggedAt = -ResourceErrorLogPeriodMs;
    private volatile bool _stopping;

    /// <summary>Creates a stopped listener; <see cref="StartAsync"/> binds it.</summary>
    /// <param name="options">The listener, its upstreams and settings.</param>
    /// <param name="loggerFactory">Where log events go; nowhere when null.</param>
    /// <param name="timeProvider">The clock of timeouts, breakers, ejections and probes; the system clock when null.</param>
    /// <exception cref="ArgumentException">The options are invalid, or an upstream address does not resolve.</exception>
    public ProxyServer(ProxyOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : this(options, loggerFactory, timeProvider, SharedRandomSource.Instance)
    {
    }

    internal ProxyServer(ProxyOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ProxyServer>();
        _cluster = new UpstreamCluster(options, _time, random);
        _options = options;
        _limiter = CreateLimiter(options);
        _prober = new HealthProber(_cluster, _time, _logger);
    }

    /// <summary>The listener's name in metrics and logs: its configured name, else its bound (or configured) address.</summary>
    public string Name => Options.Name ?? _localEndPoint?.ToString() ?? Options.DisplayName;

    /// <summary>The settings in force (the last ones applied).</summary>
    public ProxyOptions Options => Volatile.Read(ref _options);

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    /// <exception cref="InvalidOperationException">The server is not started.</exception>
    public IPEndPoint LocalEndPoint => _localEndPoint ?? throw new InvalidOperationException("The proxy is not started.");

    /// <summary>Client connections open now.</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>Whether the listener accepts and at least one upstream is available (what <c>/ready</c> reports).</summary>
    public bool IsReady => _accept is not null && !_stopping && HasAvailableUpstream();

    internal UpstreamCluster Cluster => _cluster;

    internal TimeProvider Time => _time;

    internal long RateLimited => Interlocked.Read(ref _rateLimited);

    internal long OverLimit => Interlocked.Read(ref _overLimit);

    internal long NoUpstream => Interlocked.Read(ref _noUpstream);

    /// <summary>Connections the idle timeout closed.</summary>
    internal long IdleClosed => Interlocked.Read(ref _idleClosed);

    /// <summary>Accepts that failed (out of descriptors or memory, or an accepted socket that could not be taken on).</summary>
    internal long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    /// <summary>Connection objects waiting in the pools for reuse.</summary>
    internal int PooledConnections
    {
        get
        {
            var count = 0;
            foreach (var pool in _pools)
            {
                count += pool.Count;
            }

            return count;
        }
    }

    /// <summary>Connection objects made so far (the rest were reused from the pool).</summary>
    internal long CreatedConnections => Interlocked.Read(ref _created);

    TimeProvider IConnectionHost.Time => _time;

    UpstreamCluster IConnectionHost.Cluster => _cluster;

    /// <summary>Binds the listen address and starts accepting, the idle sweep and the health probes.</summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, not local).</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Start(ListenSocket.Bind(Options.Listen));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Applies new upstreams and settings without dropping a connection: open connections finish on the
    /// upstream they have, new ones use the new set. The listen address cannot change here.
    /// </summary>
    /// <exception cref="ArgumentException">The new options are invalid; the old ones stay in force.</exception>
    public void Reconfigure(ProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Listen.Equals(Options.Listen))
        {
            throw new ArgumentException($"listener {Name}: the listen address cannot change on a running listener ({options.Listen}).", nameof(options));
        }

        _cluster.Apply(options);
        var old = Volatile.Read(ref _options);
        Volatile.Write(ref _options, options);
        if (old.RateLimit != options.RateLimit || old.RateBurst != options.RateBurst)
        {
            var previous = Interlocked.Exchange(ref _limiter, CreateLimiter(options));
            previous?.Dispose();
        }

        if (_accept is not null)
        {
            _idleSweep?.Change(SweepPeriod(options), SweepPeriod(options));
            _prober.Configure(options);
        }

        LogReconfigured(Name, options.Upstreams.Count, options.Policy);
    }

    /// <summary>
    /// Stops accepting, lets open connections finish for up to <see cref="ProxyOptions.DrainTimeout"/>
    /// (or until <paramref name="cancellationToken"/> fires), then closes the rest.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_accept is not null)
        {
            await _accept.StopAsync();
            _accept.Dispose();
        }

        // No accept is pending any more: closing the listener is a plain close (shared/HANDOFF.md).
        _listener?.Dispose();
        _prober.Stop();
        if (_connections.Count == 0)
        {
            _drained.TrySetResult();
        }

        LogDraining(Name, _connections.Count);
        try
        {
            await _drained.Task.WaitAsync(Options.DrainTimeout, _time, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            var aborted = _connections.AbortWhere(static _ => true);
            LogDrainAborted(Name, aborted);
            await _drained.Task.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        }

        _idleSweep?.Dispose();
    }

    /// <summary>Stops (draining as <see cref="StopAsync"/> does) and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _metrics?.Dispose();
        _limiter?.Dispose();
        _prober.Dispose();
        foreach (var pool in _pools)
        {
            while (pool.TryDequeue(out var pooled))
            {
                pooled.Dispose();
            }
        }
    }

    /// <summary>
    /// Starts on a listening socket: one bound here, or one inherited from another process. With
    /// <paramref name="accepting"/> false nothing is accepted before <see cref="ResumeAccepting"/>
    /// (a process taking over a listener waits for the old one's COMMIT; the kernel's backlog holds
    /// new clients meanwhile).
    /// </summary>
    internal void Start(Socket listener, bool accepting = true)
    {
        if (_accept is not null)
        {
            throw new InvalidOperationException("The proxy is already started.");
        }

        _listener = listener;

        // Accepted sockets inherit TCP_NODELAY from the listener on Linux: one setsockopt per
        // listener instead of one per connection (PERF-NOTES: syscalls per connection are the cost).
        listener.NoDelay = true;
        _localEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _metrics = new ProxyMetrics(this);
        var options = Options;
        _idleSweep = _time.CreateTimer(static state => ((ProxyServer)state!).SweepIdle(), this, SweepPeriod(options), SweepPeriod(options));
        _prober.Configure(options);
        _accept = CreateAcceptor(listener, options);
        if (accepting)
        {
            _accept.Start();
        }

        LogStarted(Name, LocalEndPoint, options.Upstreams.Count, options.Policy);
    }

    /// <summary>Whether an accept loop runs now (false before a deferred start, while paused, and once stopping).</summary>
    internal bool IsAccepting => _accept is { IsRunning: true } && !_stopping;

    /// <summary>The listening socket (to hand over to another process); null before the start.</summary>
    internal Socket? Listener => _listener;

    /// <summary>
    /// Stops accepting and waits until no accept is pending; the listening socket stays open and
    /// intact, so another process can accept on it, or <see cref="ResumeAccepting"/> can.
    /// </summary>
    internal async Task PauseAcceptingAsync()
    {
        if (_accept is not null)
        {
            await _accept.StopAsync();
        }
    }

    /// <summary>Accepts (again) on the same listening socket: after a deferred start or a rolled-back handoff.</summary>
    internal void ResumeAccepting()
    {
        if (_listener is null || _stopping || _accept is { IsRunning: true })
        {
            return;
        }

        var previous = _accept;
        var next = CreateAcceptor(_listener, Options);
        _accept = next;
        next.Start();
        previous?.Dispose();
    }

    /// <summary>
    /// With the epoll transport the loops accept (no runtime Socket per client, no hop to the loop);
    /// otherwise the runtime's accept loop.
    /// </summary>
    private IAcceptor CreateAcceptor(Socket listener, ProxyOptions options) =>
        options.Transport == ProxyTransport.Epoll ? EpollTransport.Shared.Listen((int)listener.Handle, this) : new AcceptLoop(listener, this);

    private static ConcurrentQueue<ProxyConnection>[] CreatePools(int count)
    {
        var pools = new ConcurrentQueue<ProxyConnection>[count];
        for (var i = 0; i < count; i++)
        {
            pools[i] = new ConcurrentQueue<ProxyConnection>();
        }

        return pools;
    }

    private static ClientRateLimiter? CreateLimiter(ProxyOptions options) =>
        options.RateLimit is { } rate ? new ClientRateLimiter(rate, options.RateBurst ?? Math.Max(1, (int)Math.Ceiling(rate))) : null;

    private static TimeSpan SweepPeriod(ProxyOptions options) =>
        TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));

    private bool HasAvailableUpstream()
    {
        var now = _time.GetTimestamp();
        var trials = Options.BreakerHalfOpenTrials;
        return Array.Exists(_cluster.Set.Items, u => u.IsAvailable(now, trials));
    }

    private void SweepIdle()
    {
        var now = _time.GetTimestamp();
        var idle = _cluster.Ticks(Options.IdleTimeout);
        // One aborted earlier is listed until its loop closed it, and the next sweep may come first
        // (the fake clock runs every sweep of a long step at once): count each close once.
        var closed = _connections.AbortWhere(c => !c.IsAborted && now - Volatile.Read(ref c.LastActivity) > idle);
        if (closed > 0)
        {
            Interlocked.Add(ref _idleClosed, closed);
            LogIdleClosed(Name, closed);
        }
    }
}
