namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The four policies over the simulated upstreams, as issue #9 specifies them.</summary>
internal sealed class SimBalancer(LbPolicy policy, SimUpstream[] upstreams, Random random)
{
    private int _cursor;

    public int Pick(double now)
    {
        var count = upstreams.Length;
        if (count == 1)
        {
            return 0;
        }

        switch (policy)
        {
            case LbPolicy.RoundRobin:
                return _cursor++ % count;
            case LbPolicy.LeastConn:
                {
                    // Scanning from a rotating start spreads ties instead of always favouring upstream 0.
                    var start = _cursor++ % count;
                    var best = start;
                    for (var i = 1; i < count; i++)
                    {
                        var u = start + i < count ? start + i : start + i - count;
                        if (upstreams[u].Active < upstreams[best].Active)
                        {
                            best = u;
                        }
                    }

                    return best;
                }

            default:
                {
                    var a = random.Next(count);
                    var b = random.Next(count - 1);
                    b += b >= a ? 1 : 0;
                    if (policy == LbPolicy.P2C)
                    {
                        return upstreams[b].Active < upstreams[a].Active ? b : a;
                    }

                    return upstreams[b].Score(now) < upstreams[a].Score(now) ? b : a;
                }
        }
    }
}
