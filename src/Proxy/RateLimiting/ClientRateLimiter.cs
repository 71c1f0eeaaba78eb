using System.Net;
using System.Threading.RateLimiting;

namespace DataPlane.Proxy.RateLimiting;

/// <summary>
/// New connections per client address: a token bucket per address (System.Threading.RateLimiting,
/// partitioned). Buckets are refilled by the partitioned limiter's own 100 ms heartbeat rather than a
/// timer per address, and idle ones are dropped by it.
/// </summary>
internal sealed class ClientRateLimiter : IDisposable
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(100);
    private readonly PartitionedRateLimiter<IPAddress> _limiter;

    public ClientRateLimiter(double perSecond, int burst)
    {
        PerSecond = perSecond;
        Burst = burst;

        // Whole tokens per period, and a period no shorter than the heartbeat that refills it.
        var tokens = Math.Max(1, (int)Math.Ceiling(perSecond * Heartbeat.TotalSeconds));
        var period = TimeSpan.FromSeconds(tokens / perSecond);
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = false,
        };
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => options));
    }

    public double PerSecond { get; }

    public int Burst { get; }

    /// <summary>Takes a token from the address's bucket; false when it is empty.</summary>
    public bool TryAcquire(IPAddress address)
    {
        try
        {
            using var lease = _limiter.AttemptAcquire(address);
            return lease.IsAcquired;
        }
        catch (ObjectDisposedException)
        {
            // Replaced by a reconfiguration a moment ago: let this one through.
            return true;
        }
    }

    public void Dispose() => _limiter.Dispose();
}
