using System.Net;

namespace DataPlane.Proxy;

/// <summary>One listener of the proxy and its upstream cluster, with every setting of the data path.</summary>
/// <remarks>Everything but <see cref="Listen"/> can change on a running <see cref="ProxyServer"/> through <see cref="ProxyServer.Reconfigure"/>.</remarks>
public sealed record ProxyOptions
{
    /// <summary>Where clients connect (port 0 picks a free port: read <see cref="ProxyServer.LocalEndPoint"/>).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 10000);

    /// <summary>The listener's name in metrics and logs; its listen address when null.</summary>
    public string? Name { get; init; }

    /// <summary>The upstream cluster.</summary>
    public IReadOnlyList<UpstreamOptions> Upstreams { get; init; } = [];

    /// <summary>How an upstream is picked for each connection.</summary>
    public BalancingPolicy Policy { get; init; } = BalancingPolicy.RoundRobin;

    /// <summary>How long a connect to an upstream may take before the next upstream is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A connection on which no byte moved in either direction for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Connections open at once through this listener; more are refused at once. 0: no limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Further upstreams tried after a failed connect (each a different upstream while any is left).</summary>
    public int Retries { get; init; } = 2;

    /// <summary>New connections per second allowed from one client address (token bucket); null: no limit.</summary>
    public double? RateLimit { get; init; }

    /// <summary>The token bucket's size: connections a client may open in a burst; the rate (one second's worth) when null.</summary>
    public int? RateBurst { get; init; }

    /// <summary>Bytes written to a refused client before it is closed (for example an HTTP 429 status line); none when null.</summary>
    public ReadOnlyMemory<byte>? RejectResponse { get; init; }

    /// <summary>Consecutive connect failures that open an upstream's circuit breaker.</summary>
    public int BreakerFailures { get; init; } = 5;

    /// <summary>How long an open breaker refuses its upstream before it lets trial connections through (half-open).</summary>
    public TimeSpan BreakerOpen { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Trial connections a half-open breaker lets through at once.</summary>
    public int BreakerHalfOpenTrials { get; init; } = 1;

    /// <summary>Interval of the active TCP-connect health probes; null: no active probes.</summary>
    public TimeSpan? HealthInterval { get; init; }

    /// <summary>How long a probe's connect may take.</summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive failed probes that mark an upstream unhealthy.</summary>
    public int UnhealthyThreshold { get; init; } = 3;

    /// <summary>Consecutive successful probes that mark it healthy again.</summary>
    public int HealthyThreshold { get; init; } = 2;

    /// <summary>Consecutive failures (connect refused or timed out, reset mid-stream) that eject an upstream.</summary>
    public int EjectionFailures { get; init; } = 5;

    /// <summary>An ejection lasts this long times the number of times the upstream was ejected.</summary>
    public TimeSpan EjectionBase { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this percentage of the upstreams is ejected at once (at least one may always be).</summary>
    public int MaxEjectionPercent { get; init; } = 50;

    /// <summary>A new or returning upstream ramps its share up over this window; zero: at once.</summary>
    public TimeSpan SlowStart { get; init; }

    /// <summary>How long <see cref="ProxyServer.StopAsync"/> waits for connections to finish before it closes them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Size of a receive buffer (from the array pool).</summary>
    public int BufferSize { get; init; } = 16 * 1024;

    /// <summary>Bytes buffered in one direction before the proxy stops reading from the sender (back-pressure).</summary>
    public int PauseThreshold { get; init; } = 64 * 1024;

    /// <summary>Buffered bytes below which reading resumes.</summary>
    public int ResumeThreshold { get; init; } = 32 * 1024;

    /// <summary>The socket engine: <see cref="ProxyTransport.Epoll"/> on Linux, <see cref="ProxyTransport.Sockets"/> elsewhere.</summary>
    public ProxyTransport Transport { get; init; } = OperatingSystem.IsLinux() ? ProxyTransport.Epoll : ProxyTransport.Sockets;

    /// <summary>The listener's name: <see cref="Name"/>, or the listen address.</summary>
    public string DisplayName => Name ?? Listen.ToString();

    /// <summary>Checks the settings; throws with a message a person can act on.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        Require(Upstreams.Count > 0, "at least one upstream is needed");
        Require(ConnectTimeout > TimeSpan.Zero, "the connect timeout must be positive");
        Require(IdleTimeout > TimeSpan.Zero, "the idle timeout must be positive");
        Require(MaxConnections >= 0, "max connections must be 0 (no limit) or positive");
        Require(Retries >= 0, "retries must not be negative");
        Require(RateLimit is null || (RateLimit > 0 && double.IsFinite(RateLimit.Value)), "the rate limit must be a positive number per second");
        Require(RateBurst is null || RateBurst > 0, "the rate burst must be positive");
        Require(BreakerFailures > 0 && BreakerHalfOpenTrials > 0 && BreakerOpen > TimeSpan.Zero, "breaker failures, trials and open time must be positive");
        Require(HealthInterval is null || HealthInterval > TimeSpan.Zero, "the health interval must be positive");
        Require(HealthTimeout > TimeSpan.Zero && UnhealthyThreshold > 0 && HealthyThreshold > 0, "health timeout and thresholds must be positive");
        Require(EjectionFailures > 0 && EjectionBase > TimeSpan.Zero, "ejection failures and base time must be positive");
        Require(MaxEjectionPercent is >= 0 and <= 100, "max ejection percent must be within 0..100");
        Require(SlowStart >= TimeSpan.Zero && DrainTimeout >= TimeSpan.Zero, "slow start and drain timeout must not be negative");
        Require(Transport != ProxyTransport.Epoll || OperatingSystem.IsLinux(), "the epoll transport needs Linux");
        Require(BufferSize >= 512 && ResumeThreshold > 0 && PauseThreshold > ResumeThreshold, "buffer size >= 512 and pause threshold > resume threshold > 0");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var upstream in Upstreams)
        {
            Require(seen.Add(upstream.Address), $"upstream {upstream.Address} is listed twice");
        }
    }

    private void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new ArgumentException($"listener {DisplayName}: {what}.");
        }
    }
}
