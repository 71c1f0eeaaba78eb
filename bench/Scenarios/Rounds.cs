namespace DataPlane.Bench.Scenarios;

/// <summary>
/// How a scenario that compares targets in rounds (proxy, store-cluster) orders them and sums up its
/// rounds, the same for every target. A target's place in a round is not neutral: in the proxy
/// scenario on this 2-core machine the target that ran straight after
/// `direct` (nginx and wrk each at a full core just before) had the worse wrk p99 in 10 of 11 rounds
/// against an identical HAProxy that ran after it, 3.5-17 ms against 2.5-3.5 ms (median 4.0 against
/// 3.8 ms in the quieter of two runs), a gap as large as the one the proxy's goal is judged by, and the
/// fixed order put `dataplane` there every round. Rotating the order gives every target every place.
/// </summary>
internal static class Rounds
{
    /// <summary>
    /// The targets in the order round <paramref name="round"/> runs them: the list rotated by the
    /// round's number, so that over as many rounds as targets each runs once in each place.
    /// </summary>
    public static IEnumerable<T> Order<T>(IReadOnlyList<T> targets, int round)
    {
        for (var i = 0; i < targets.Count; i++)
        {
            yield return targets[(round + i) % targets.Count];
        }
    }

    /// <summary>The median of <paramref name="values"/>: the middle one, or the mean of the middle two.</summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> is empty.</exception>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
