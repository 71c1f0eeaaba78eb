namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// What the open-loop client measured: answers per upstream id, latency from each request's
/// intended send time, errors (refused, reset, wrong answer, timed out), answers per second while the load was applied, and
/// how late the dispatcher was at worst (a latency floor the load generator itself adds).
/// </summary>
internal sealed record ClientResult(long[] AnsweredBy, LatencySummary Latency, long Sent, long Errors, double Rps, double MaxDispatchLagMs)
{
    public long Answered => AnsweredBy.Sum();

    public double Share(int upstream) => Answered == 0 ? 0 : (double)AnsweredBy[upstream] / Answered;
}
