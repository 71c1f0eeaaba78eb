namespace DataPlane.Store.Replica;

/// <summary>
/// A hybrid logical clock: Unix milliseconds in the top 48 bits and a counter in the low 16, never
/// going backwards and always past every timestamp it has observed, so a node's next write is newer
/// than anything it has stored even if its wall clock steps back.
/// </summary>
internal sealed class HybridLogicalClock(TimeProvider time)
{
    private const int LogicalBits = 16;
    private long _last;

    /// <summary>The newest timestamp issued or observed.</summary>
    public long Current => Volatile.Read(ref _last);

    public static long PhysicalMilliseconds(long timestamp) => timestamp >> LogicalBits;

    public long Next()
    {
        var physical = time.GetUtcNow().ToUnixTimeMilliseconds() << LogicalBits;
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(last + 1, physical);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }

    public void Observe(long timestamp)
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            if (timestamp <= last || Interlocked.CompareExchange(ref _last, timestamp, last) == last)
            {
                return;
            }
        }
    }
}
