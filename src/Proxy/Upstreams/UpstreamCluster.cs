using System.Globalization;
using System.Net;
using DataPlane.Proxy.Balancing;

namespace DataPlane.Proxy.Upstreams;

/// <summary>
/// A listener's upstreams, its balancer and the passive health rules that feed on connect results.
/// The set and the settings are immutable objects behind references that a reconfiguration swaps.
/// </summary>
internal sealed class UpstreamCluster
{
    private readonly TimeProvider _time;
    private readonly IRandomSource _random;
    private State _state;
    private long _panicPicks;

    public UpstreamCluster(ProxyOptions options, TimeProvider time, IRandomSource random)
    {
        _time = time;
        _random = random;
        _state = Build(options, null);
    }

    public UpstreamSet Set => Volatile.Read(ref _state).Set;

    public ProxyOptions Options => Volatile.Read(ref _state).Options;

    /// <summary>Picks that found no available upstream and chose among all (panic mode).</summary>
    public long PanicPicks => Interlocked.Read(ref _panicPicks);

    /// <summary>Applies new upstreams and settings; upstreams whose address stays keep their state.</summary>
    /// <exception cref="ArgumentException">An upstream address does not parse or resolve.</exception>
    public void Apply(ProxyOptions options) => Volatile.Write(ref _state, Build(options, Volatile.Read(ref _state)));

    /// <summary>
    /// Picks an upstream not in <paramref name="tried"/>; when no upstream at all is available, picks
    /// among all of them (panic mode: better to try than to refuse everything). -1 when none is left.
    /// </summary>
    public int Pick(UpstreamSet set, ulong tried, ulong clientHash)
    {
        var state = Volatile.Read(ref _state);
        var options = state.Options;
        var now = _time.GetTimestamp();
        var window = Ticks(options.SlowStart);
        // The scan stops at the first available upstream: O(1) while things are healthy. Deciding panic
        // before the pick keeps a stateful balancer (round-robin's counter) stepping once per pick.
        var panic = !AnyAvailable(set, now, options.BreakerHalfOpenTrials);
        if (panic)
        {
            Interlocked.Increment(ref _panicPicks);
        }

        return state.Balancer.Pick(set, new PickFilter(tried, panic, now, options.BreakerHalfOpenTrials, window), clientHash);
    }

    public void OnConnected(Upstream upstream, long startedAt)
    {
        var now = _time.GetTimestamp();
        upstream.RecordLatency((now - startedAt) * 1000.0 / _time.TimestampFrequency, now);
        upstream.Breaker.OnSuccess();
        upstream.OnSuccess();
    }

    /// <summary>
    /// Counts a failure; the breaker hears of connect failures, ejection of every cause but this
    /// process's own shortage of descriptors or memory. Says whether the breaker opened or the upstream was ejected.
    /// </summary>
    public HealthChange OnFailure(Upstream upstream, ConnectFailure cause)
    {
        upstream.CountFailure(cause);
        if (cause == ConnectFailure.OutOfResources)
        {
            return HealthChange.None;
        }

        var options = Options;
        var change = HealthChange.None;
        if (cause != ConnectFailure.Reset && upstream.Breaker.OnFailure(options.BreakerFailures, options.BreakerOpen))
        {
            change |= HealthChange.BreakerOpened;
        }

        if (upstream.OnFailure(options.EjectionFailures) && TryEject(upstream, options))
        {
            change |= HealthChange.Ejected;
        }

        return change;
    }

    internal long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private bool TryEject(Upstream upstream, ProxyOptions options)
    {
        var now = _time.GetTimestamp();
        var set = Set;
        if (upstream.IsEjected(now))
        {
            return false;
        }

        var ejected = 0;
        foreach (var u in set.Items)
        {
            ejected += u.IsEjected(now) ? 1 : 0;
        }

        // Envoy's rule: never more than max-ejection-percent of the set, but one may always go.
        var allowed = Math.Max(1, set.Count * options.MaxEjectionPercent / 100);
        if (ejected < allowed && options.MaxEjectionPercent > 0)
        {
            upstream.Eject(now, Ticks(options.EjectionBase));
            return true;
        }

        return false;
    }

    private static bool AnyAvailable(UpstreamSet set, long now, int maxTrials)
    {
        foreach (var u in set.Items)
        {
            if (u.IsAvailable(now, maxTrials))
            {
                return true;
            }
        }

        return false;
    }

    private State Build(ProxyOptions options, State? previous)
    {
        options.Validate();
        var items = new Upstream[options.Upstreams.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var configured = options.Upstreams[i];
            var existing = previous?.Set.Items.FirstOrDefault(u => string.Equals(u.Address, configured.Address, StringComparison.OrdinalIgnoreCase));
            items[i] = existing ?? new Upstream(configured.Address, Resolve(configured.Address), configured.Weight, _time);
            items[i].Weight = configured.Weight;
        }

        var balancer = previous is not null && previous.Options.Policy == options.Policy
            ? previous.Balancer
            : LoadBalancers.Create(options.Policy, _random);
        return new State(options, new UpstreamSet(items, options.Policy == BalancingPolicy.RingHash), balancer);
    }

    /// <summary>Parses <c>HOST:PORT</c> (an IP literal, or a name resolved now, IPv4 first).</summary>
    internal static IPEndPoint Resolve(string address)
    {
        if (IPEndPoint.TryParse(address, out var endPoint) && endPoint.Port != 0)
        {
            return endPoint;
        }

        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"upstream '{address}' is not HOST:PORT with a port in 1..65535.");
        }

        var host = address[..colon];
        IPAddress[] addresses;
        try
        {
            addresses = Dns.GetHostAddresses(host);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new ArgumentException($"upstream '{address}': host '{host}' does not resolve ({e.Message}).", e);
        }

        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new ArgumentException($"upstream '{address}': host '{host}' has no address.");
        return new IPEndPoint(chosen, port);
    }

    private sealed record State(ProxyOptions Options, UpstreamSet Set, ILoadBalancer Balancer);
}
