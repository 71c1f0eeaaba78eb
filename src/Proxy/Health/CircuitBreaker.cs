namespace DataPlane.Proxy.Health;

/// <summary>
/// A per-upstream circuit breaker: Closed -> Open after N consecutive connect failures; Open ->
/// HalfOpen when the cooldown ends; HalfOpen lets a limited number of trial connections through at
/// once; one success closes it, one failure opens it again.
/// </summary>
/// <remarks>
/// Written here rather than taken from Polly: a balancer must ask "may this upstream be picked?"
/// before any call is made, on every pick and without allocating, while Polly's breaker decides inside
/// an <c>ExecuteAsync</c> around the call and admits exactly one half-open trial; the issue asks for a
/// configurable number. Thresholds are passed in on each call so a reconfiguration applies at once.
/// </remarks>
internal sealed class CircuitBreaker
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private volatile BreakerState _state;
    private long _openUntil;
    private int _failures;
    private int _trials;
    private long _openings;

    public CircuitBreaker(TimeProvider time) => _time = time;

    /// <summary>The state as a reader sees it now (an Open breaker whose cooldown ended reads as HalfOpen).</summary>
    public BreakerState State => _state == BreakerState.Open && _time.GetTimestamp() >= Volatile.Read(ref _openUntil)
        ? BreakerState.HalfOpen
        : _state;

    /// <summary>How many times the breaker opened.</summary>
    public long Openings => Interlocked.Read(ref _openings);

    /// <summary>Whether a pick may choose this upstream (no state change).</summary>
    public bool AllowsPick(long now, int maxTrials) => _state switch
    {
        BreakerState.Closed => true,
        BreakerState.Open => now >= Volatile.Read(ref _openUntil),
        _ => Volatile.Read(ref _trials) < maxTrials,
    };

    /// <summary>
    /// Admits a connection: always when closed; when the cooldown has ended, moves to half-open and
    /// admits up to <paramref name="maxTrials"/> at once. Returns false when refused.
    /// </summary>
    public bool TryAcquire(int maxTrials)
    {
        if (_state == BreakerState.Closed)
        {
            return true;
        }

        lock (_lock)
        {
            if (_state == BreakerState.Open)
            {
                if (_time.GetTimestamp() < _openUntil)
                {
                    return false;
                }

                _state = BreakerState.HalfOpen;
                _trials = 0;
            }

            if (_state == BreakerState.Closed)
            {
                return true;
            }

            if (_trials >= maxTrials)
            {
                return false;
            }

            _trials++;
            return true;
        }
    }

    /// <summary>A connect succeeded: the failure run restarts; a half-open breaker closes.</summary>
    public void OnSuccess()
    {
        if (_state == BreakerState.Closed && Volatile.Read(ref _failures) == 0)
        {
            return;
        }

        lock (_lock)
        {
            _failures = 0;
            _trials = 0;
            _state = BreakerState.Closed;
        }
    }

    /// <summary>A connect failed: opens after <paramref name="threshold"/> in a row, or at once when half-open; whether it opened now.</summary>
    public bool OnFailure(int threshold, TimeSpan openFor)
    {
        lock (_lock)
        {
            var open = _state == BreakerState.HalfOpen || (_state == BreakerState.Closed && ++_failures >= threshold);
            if (open)
            {
                _state = BreakerState.Open;
                _failures = 0;
                _trials = 0;
                _openUntil = _time.GetTimestamp() + (long)(openFor.TotalSeconds * _time.TimestampFrequency);
                _openings++;
            }

            return open;
        }
    }
}
