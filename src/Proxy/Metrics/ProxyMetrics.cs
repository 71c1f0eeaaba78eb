using System.Diagnostics.Metrics;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Metrics;

/// <summary>
/// The listener's instruments on the <c>DataPlane.Proxy</c> meter. Counters the data path already
/// keeps (interlocked fields of each upstream) are observed at collection time, so the hot path pays
/// nothing for them; only the two histograms are recorded per connection.
/// </summary>
internal sealed class ProxyMetrics : IDisposable
{
    /// <summary>The meter's name, for exporters and listeners.</summary>
    public const string MeterName = "DataPlane.Proxy";

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _connectLatency;
    private readonly Histogram<double> _duration;
    private readonly KeyValuePair<string, object?> _listenerTag;

    public ProxyMetrics(ProxyServer server)
    {
        _listenerTag = new("listener", server.Name);
        _connectLatency = _meter.CreateHistogram<double>("upstream.connect.duration", "s", "Time to connect to an upstream.");
        _duration = _meter.CreateHistogram<double>("connection.duration", "s", "Lifetime of a proxied connection.");
        _meter.CreateObservableUpDownCounter("upstream.active", () => PerUpstream(server, u => u.Active), "{connection}", "Connections open to an upstream.");
        _meter.CreateObservableCounter("upstream.connections", () => PerUpstream(server, u => u.Total), "{connection}", "Connections established to an upstream.");
        _meter.CreateObservableCounter("upstream.connect.failures", () => Failures(server), "{failure}", "Failed connects and mid-stream resets, by cause.");
        _meter.CreateObservableCounter("upstream.bytes", () => Bytes(server), "By", "Bytes moved, by direction.");
        _meter.CreateObservableGauge("upstream.breaker.state", () => PerUpstream(server, u => (long)u.Breaker.State), null, "Circuit breaker: 0 closed, 1 half-open, 2 open.");
        _meter.CreateObservableCounter("upstream.ejections", () => PerUpstream(server, u => u.Ejections), "{ejection}", "Passive outlier ejections.");
        _meter.CreateObservableCounter("refused", () => Refusals(server), "{connection}", "Connections refused, by reason.");
        _meter.CreateObservableCounter("connections.idle_closed", () => new Measurement<long>(server.IdleClosed, _listenerTag), "{connection}", "Connections closed by the idle timeout.");
        _meter.CreateObservableCounter("accept.errors", () => new Measurement<long>(server.AcceptErrors, _listenerTag), "{error}", "Failed accepts: out of descriptors or memory, or a connection that could not be taken on.");
        _meter.CreateObservableUpDownCounter("connections.active", () => new Measurement<long>(server.ActiveConnections, _listenerTag), "{connection}", "Client connections open.");
        _meter.CreateObservableCounter("panic.picks", () => new Measurement<long>(server.Cluster.PanicPicks, _listenerTag), "{pick}", "Picks made with no available upstream (panic mode).");
    }

    public void RecordConnect(Upstream upstream, TimeSpan latency) =>
        _connectLatency.Record(latency.TotalSeconds, _listenerTag, new("upstream", upstream.Address));

    public void RecordClosed(Upstream upstream, TimeSpan duration) =>
        _duration.Record(duration.TotalSeconds, _listenerTag, new("upstream", upstream.Address));

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> PerUpstream(ProxyServer server, Func<Upstream, long> value)
    {
        foreach (var u in server.Cluster.Set.Items)
        {
            yield return new Measurement<long>(value(u), _listenerTag, new("upstream", u.Address));
        }
    }

    private IEnumerable<Measurement<long>> Failures(ProxyServer server)
    {
        foreach (var u in server.Cluster.Set.Items)
        {
            foreach (var cause in Enum.GetValues<ConnectFailure>())
            {
                yield return new Measurement<long>(u.Failures(cause), _listenerTag, new("upstream", u.Address), new("cause", cause.ToString().ToLowerInvariant()));
            }
        }
    }

    private IEnumerable<Measurement<long>> Bytes(ProxyServer server)
    {
        foreach (var u in server.Cluster.Set.Items)
        {
            yield return new Measurement<long>(u.BytesToUpstream, _listenerTag, new("upstream", u.Address), new("direction", "to_upstream"));
            yield return new Measurement<long>(u.BytesToClient, _listenerTag, new("upstream", u.Address), new("direction", "to_client"));
        }
    }

    private IEnumerable<Measurement<long>> Refusals(ProxyServer server)
    {
        yield return new Measurement<long>(server.RateLimited, _listenerTag, new("reason", "rate_limited"));
        yield return new Measurement<long>(server.OverLimit, _listenerTag, new("reason", "over_limit"));
        yield return new Measurement<long>(server.NoUpstream, _listenerTag, new("reason", "no_upstream"));
    }
}
