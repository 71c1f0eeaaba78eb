using System.Net.Sockets;
using DataPlane.Proxy.Upstreams;
using Microsoft.Extensions.Logging;

namespace DataPlane.Proxy.Health;

/// <summary>
/// Active health checks: every interval, a TCP connect to each upstream within the probe timeout;
/// N failures in a row mark it unhealthy, M successes in a row healthy again (and start its slow start).
/// </summary>
internal sealed partial class HealthProber : IDisposable
{
    private readonly UpstreamCluster _cluster;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private TimeSpan? _interval;
    private int _running;

    public HealthProber(UpstreamCluster cluster, TimeProvider time, ILogger logger)
    {
        _cluster = cluster;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts, re-times or stops the probes to match <paramref name="options"/>.</summary>
    public void Configure(ProxyOptions options)
    {
        lock (_lock)
        {
            if (options.HealthInterval == _interval && _timer is not null)
            {
                return;
            }

            _interval = options.HealthInterval;
            _timer?.Dispose();
            _timer = options.HealthInterval is { } every
                ? _time.CreateTimer(static state => _ = ((HealthProber)state!).ProbeAllAsync(), this, TimeSpan.Zero, every)
                : null;
        }
    }

    public void Stop()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            _interval = null;
        }
    }

    public void Dispose() => Stop();

    /// <summary>One round of probes (a round still running when the next is due is not doubled).</summary>
    internal async Task ProbeAllAsync()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            return;
        }

        try
        {
            var options = _cluster.Options;
            var upstreams = _cluster.Set.Items;
            var probes = new Task<bool>[upstreams.Length];
            for (var i = 0; i < upstreams.Length; i++)
            {
                probes[i] = ProbeAsync(upstreams[i], options.HealthTimeout);
            }

            for (var i = 0; i < upstreams.Length; i++)
            {
                var ok = await probes[i];
                if (upstreams[i].OnProbe(ok, options.HealthyThreshold, options.UnhealthyThreshold, _time.GetTimestamp()))
                {
                    LogHealthChanged(upstreams[i].Address, ok ? "healthy" : "unhealthy");
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task<bool> ProbeAsync(Upstream upstream, TimeSpan timeout)
    {
        using var socket = new Socket(upstream.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cancel = new CancellationTokenSource(timeout, _time);
        try
        {
            await socket.ConnectAsync(upstream.EndPoint, cancel.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Upstream {Upstream} is now {Health} (active probe)")]
    private partial void LogHealthChanged(string upstream, string health);
}
