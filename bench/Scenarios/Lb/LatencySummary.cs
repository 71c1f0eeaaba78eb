using HdrHistogram;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>Percentiles of a latency histogram recorded in microseconds, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs)
{
    /// <summary>Up to an hour in microseconds, three significant digits (0.1% resolution).</summary>
    public static LongHistogram NewHistogram() => new(3_600_000_000L, 3);

    public static LatencySummary From(HistogramBase histogram)
    {
        if (histogram.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }

        return new LatencySummary(
            histogram.TotalCount,
            histogram.GetMean() / 1000,
            histogram.GetValueAtPercentile(50) / 1000.0,
            histogram.GetValueAtPercentile(90) / 1000.0,
            histogram.GetValueAtPercentile(99) / 1000.0,
            histogram.GetValueAtPercentile(99.9) / 1000.0,
            histogram.GetMaxValue() / 1000.0);
    }
}
