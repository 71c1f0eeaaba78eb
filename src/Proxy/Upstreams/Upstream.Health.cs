namespace DataPlane.Proxy.Upstreams;

/// <summary>Health, ejection, slow start and connect latency of an upstream.</summary>
internal sealed partial class Upstream
{
    // Peak EWMA decay time (Finagle's default is 10 s): old samples weigh e^-(dt/tau).
    private const double EwmaDecaySeconds = 10;

    // An upstream without a sample yet costs as if its connects took 1 ms.
    private const double DefaultLatencyMs = 1;

    private readonly Lock _ewmaLock = new();
    private double _ewmaMs = DefaultLatencyMs;
    private long _ewmaStamp;
    private long _slowStartSince;
    private long _ejectedUntil;
    private int _ejections;
    private int _consecutiveFailures;
    private int _probeFailures;
    private int _probeSuccesses;
    private volatile bool _probeHealthy = true;

    /// <summary>Whether the active probes last found the upstream healthy (true until a probe says otherwise).</summary>
    public bool ProbeHealthy => _probeHealthy;

    /// <summary>The timestamp until which the upstream is ejected (0: never was).</summary>
    public long EjectedUntil => Volatile.Read(ref _ejectedUntil);

    /// <summary>How many times it was ejected.</summary>
    public int Ejections => Volatile.Read(ref _ejections);

    public bool IsEjected(long now) => now < Volatile.Read(ref _ejectedUntil);

    /// <summary>Healthy by probe, not ejected, and its breaker would let a connection through.</summary>
    public bool IsAvailable(long now, int maxTrials) => _probeHealthy && !IsEjected(now) && Breaker.AllowsPick(now, maxTrials);

    /// <summary>Peak EWMA of connect latency in milliseconds.</summary>
    public double LatencyMs => Volatile.Read(ref _ewmaMs);

    /// <summary>
    /// The share a new or returning upstream may take during slow start: grows linearly from 10% to
    /// 100% over <paramref name="window"/> ticks (Envoy's slow start, with its default aggression 1).
    /// </summary>
    public double SlowStartFactor(long now, long window)
    {
        if (window <= 0)
        {
            return 1;
        }

        var elapsed = now - Volatile.Read(ref _slowStartSince);
        return elapsed >= window ? 1 : Math.Max(0.1, (double)elapsed / window);
    }

    /// <summary>Records a connect's latency: peak EWMA jumps to a higher sample at once and decays towards lower ones.</summary>
    public void RecordLatency(double milliseconds, long now)
    {
        lock (_ewmaLock)
        {
            if (milliseconds > _ewmaMs || _ewmaStamp == 0)
            {
                Volatile.Write(ref _ewmaMs, milliseconds);
            }
            else
            {
                var elapsed = (double)(now - _ewmaStamp) / _time.TimestampFrequency;
                var w = Math.Exp(-elapsed / EwmaDecaySeconds);
                Volatile.Write(ref _ewmaMs, (_ewmaMs * w) + (milliseconds * (1 - w)));
            }

            _ewmaStamp = now;
        }
    }

    /// <summary>A success resets the run of consecutive failures.</summary>
    public void OnSuccess()
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }
    }

    /// <summary>Counts a failure; returns true when the run reached <paramref name="threshold"/> (and restarts it).</summary>
    public bool OnFailure(int threshold)
    {
        if (Interlocked.Increment(ref _consecutiveFailures) < threshold)
        {
            return false;
        }

        Volatile.Write(ref _consecutiveFailures, 0);
        return true;
    }

    /// <summary>Ejects for <paramref name="baseTicks"/> times the number of ejections so far; slow start begins when it returns.</summary>
    public void Eject(long now, long baseTicks)
    {
        var count = Interlocked.Increment(ref _ejections);
        var until = now + (baseTicks * count);
        Volatile.Write(ref _ejectedUntil, until);
        Volatile.Write(ref _slowStartSince, until);
    }

    /// <summary>Takes one probe result; returns true when the upstream's probe health changed.</summary>
    public bool OnProbe(bool success, int healthyThreshold, int unhealthyThreshold, long now)
    {
        if (success)
        {
            _probeFailures = 0;
            if (!_probeHealthy && ++_probeSuccesses >= healthyThreshold)
            {
                _probeHealthy = true;
                Volatile.Write(ref _slowStartSince, now);
                return true;
            }

            return false;
        }

        _probeSuccesses = 0;
        if (_probeHealthy && ++_probeFailures >= unhealthyThreshold)
        {
            _probeHealthy = false;
            return true;
        }

        return false;
    }
}
