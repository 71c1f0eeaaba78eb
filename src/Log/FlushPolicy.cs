namespace DataPlane.Log;

/// <summary>
/// When appended data is forced to disk (Kafka's <c>flush.messages</c> and <c>flush.ms</c>), and so when an
/// append is acknowledged: under <see cref="Durable"/> after the fsync that covers it, otherwise once it is in
/// the page cache.
/// </summary>
/// <param name="Messages">Force to disk once this many records are unflushed; 1 means every append waits for its fsync.</param>
/// <param name="Interval">Force to disk once the oldest unflushed record is this old; <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
public sealed record FlushPolicy(long Messages, TimeSpan Interval)
{
    /// <summary>The default: an append is acknowledged after the fsync covering it; group commit shares one fsync among concurrent appends.</summary>
    public static FlushPolicy Durable { get; } = new(1, TimeSpan.Zero);

    /// <summary>Kafka's default: acknowledged once written to the page cache; fsync only on segment roll and shutdown.</summary>
    public static FlushPolicy PageCache { get; } = new(long.MaxValue, Timeout.InfiniteTimeSpan);

    /// <summary>Whether every append waits for its fsync.</summary>
    public bool IsDurable => Messages <= 1 || Interval == TimeSpan.Zero;
}
