using HdrHistogram;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// Discrete-event simulation of the balanced cluster: Poisson arrivals, the policy's pick, each
/// upstream's workers and FIFO queue. Time is in milliseconds. Arrivals are generated lazily and
/// only completions sit in the event heap, so K = 100 and a million requests take about a second.
/// </summary>
internal sealed class LbSimulator
{
    private readonly LbParameters _parameters;
    private readonly LbMode _mode;
    private readonly Random _random;
    private readonly SimUpstream[] _upstreams;
    private readonly SimBalancer _balancer;
    private readonly PriorityQueue<SimCompletion, double> _completions = new();
    private readonly long[] _sent;
    private readonly LongHistogram _latency = LatencySummary.NewHistogram();
    private readonly int[] _connectionUpstream;
    private readonly Queue<double>[] _connectionPending;
    private readonly bool[] _connectionBusy;
    private double _latencySum;
    private double _waitSum;
    private long _completed;

    private LbSimulator(LbParameters parameters, LbPolicy policy, LbMode mode)
    {
        parameters.Validate();
        _parameters = parameters;
        _mode = mode;
        _random = new Random(parameters.Seed);
        _upstreams = new SimUpstream[parameters.Upstreams];
        for (var u = 0; u < _upstreams.Length; u++)
        {
            _upstreams[u] = new SimUpstream(parameters.EwmaDecayMs);
        }

        _balancer = new SimBalancer(policy, _upstreams, _random);
        _sent = new long[parameters.Upstreams];
        var connections = mode == LbMode.Persistent ? parameters.Connections : 0;
        _connectionUpstream = new int[connections];
        _connectionBusy = new bool[connections];
        _connectionPending = new Queue<double>[connections];
        for (var c = 0; c < connections; c++)
        {
            _connectionPending[c] = new Queue<double>();
        }
    }

    public static LbSimulationResult Run(LbParameters parameters, LbPolicy policy, LbMode mode, int requests)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        var simulator = new LbSimulator(parameters, policy, mode);
        var elapsed = simulator.Execute(requests);
        return new LbSimulationResult(
            policy, mode, simulator._sent, LatencySummary.From(simulator._latency),
            simulator._latencySum / simulator._completed, simulator._waitSum / simulator._completed, elapsed);
    }

    private double Execute(int requests)
    {
        // The pool connects before the first request; with nothing finished yet, every policy
        // sees only connection counts (and P2C-EWMA no latency at all).
        for (var c = 0; c < _connectionUpstream.Length; c++)
        {
            var u = _balancer.Pick(0);
            _upstreams[u].Active++;
            _connectionUpstream[c] = u;
        }

        var ratePerMs = _parameters.OfferedPerSecond / 1000;
        var first = NextGap(ratePerMs);
        var nextArrival = first;
        var now = 0.0;
        var arrived = 0;
        while (arrived < requests || _completions.Count > 0)
        {
            if (arrived < requests && nextArrival <= PeekTime())
            {
                now = nextArrival;
                Arrive(now, arrived++);
                nextArrival += NextGap(ratePerMs);
            }
            else
            {
                _completions.TryDequeue(out var completion, out now);
                Complete(now, completion);
            }
        }

        return now - first;
    }

    private double PeekTime() => _completions.TryPeek(out _, out var time) ? time : double.PositiveInfinity;

    private double NextGap(double ratePerMs) => -Math.Log(1 - _random.NextDouble()) / ratePerMs;

    private void Arrive(double now, int index)
    {
        if (_mode == LbMode.PerRequest)
        {
            var u = _balancer.Pick(now);
            _upstreams[u].Active++;
            Submit(u, now, now, -1);
            return;
        }

        var c = index % _connectionUpstream.Length;
        if (_connectionBusy[c])
        {
            _connectionPending[c].Enqueue(now);
            return;
        }

        _connectionBusy[c] = true;
        Submit(_connectionUpstream[c], now, now, c);
    }

    private void Submit(int u, double now, double arrival, int connection)
    {
        _sent[u]++;
        if (_upstreams[u].BusyWorkers < _parameters.Workers)
        {
            Start(u, now, arrival, connection);
        }
        else
        {
            _upstreams[u].Waiting.Enqueue((arrival, connection));
        }
    }

    private void Start(int u, double now, double arrival, int connection)
    {
        _upstreams[u].BusyWorkers++;
        _waitSum += now - arrival;
        _completions.Enqueue(new SimCompletion(u, arrival, connection), now + _parameters.DrawServiceMs(u, _random));
    }

    private void Complete(double now, SimCompletion completion)
    {
        var latency = now - completion.Arrival;
        _latencySum += latency;
        _completed++;
        _latency.RecordValue((long)Math.Round(latency * 1000));
        var upstream = _upstreams[completion.Upstream];
        upstream.BusyWorkers--;
        if (upstream.Waiting.TryDequeue(out var next))
        {
            Start(completion.Upstream, now, next.Arrival, next.Connection);
        }

        if (completion.Connection < 0)
        {
            // Per request, the connection closes with the response: that is what the proxy sees.
            upstream.Active--;
            upstream.Observe(now, latency);
        }
        else if (_connectionPending[completion.Connection].TryDequeue(out var pending))
        {
            Submit(completion.Upstream, now, pending, completion.Connection);
        }
        else
        {
            _connectionBusy[completion.Connection] = false;
        }
    }
}
