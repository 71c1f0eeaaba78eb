using ScottPlot;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The two LB charts: share of requests to the slow upstream, and latency percentiles on a log scale.</summary>
internal static class LbCharts
{
    public const string ShareFile = "lb-slow-share.png";
    public const string LatencyFile = "lb-latency.png";

    private static readonly double[] Percentiles = [50, 90, 99, 99.9];

    /// <summary>Writes both charts for the per-request rows and returns their file names.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<LbRow> rows, string subtitle)
    {
        var perRequest = rows.Where(r => r.Mode == "per-request").ToArray();
        WriteShare(Path.Combine(directory, ShareFile), perRequest, rows.Where(r => r.Mode == "persistent").ToArray(), subtitle);
        WriteLatency(Path.Combine(directory, LatencyFile), perRequest, subtitle);
        return [ShareFile, LatencyFile];
    }

    private static void WriteShare(string path, LbRow[] perRequest, LbRow[] persistent, string subtitle)
    {
        var plot = new Plot();
        var series = new List<(string Label, double[] Values)>();
        if (perRequest.All(r => r.SlowShare is not null))
        {
            series.Add(("measured, connection per request", perRequest.Select(r => 100 * r.SlowShare!.Value).ToArray()));
        }

        series.Add(("simulated, connection per request", perRequest.Select(r => 100 * r.SimSlowShare).ToArray()));
        if (persistent.Length == perRequest.Length)
        {
            series.Add(persistent.All(r => r.SlowShare is not null)
                ? ("measured, persistent connections", persistent.Select(r => 100 * r.SlowShare!.Value).ToArray())
                : ("simulated, persistent connections", persistent.Select(r => 100 * r.SimSlowShare).ToArray()));
        }

        var width = 0.8 / series.Count;
        for (var s = 0; s < series.Count; s++)
        {
            var positions = Enumerable.Range(0, perRequest.Length).Select(i => i - 0.4 + (width * (s + 0.5))).ToArray();
            var bars = plot.Add.Bars(positions, series[s].Values);
            bars.LegendText = series[s].Label;
            bars.Color = plot.Add.Palette.GetColor(s);
            foreach (var bar in bars.Bars)
            {
                bar.Size = width * 0.9;
            }
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, perRequest.Length).Select(i => (double)i).ToArray(), perRequest.Select(r => r.Policy).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title($"Share of requests sent to the 10x slower upstream\n{subtitle}");
        plot.YLabel("% of requests");
        plot.ShowLegend(Alignment.UpperCenter);
        plot.SavePng(path, 900, 520);
    }

    private static void WriteLatency(string path, LbRow[] perRequest, string subtitle)
    {
        var plot = new Plot();
        var xs = Enumerable.Range(0, Percentiles.Length).Select(i => (double)i).ToArray();
        for (var i = 0; i < perRequest.Length; i++)
        {
            var row = perRequest[i];
            var color = plot.Add.Palette.GetColor(i);
            if (row.P50Ms is not null)
            {
                var measured = plot.Add.Scatter(xs, Log([row.P50Ms.Value, row.P90Ms!.Value, row.P99Ms!.Value, row.P999Ms!.Value]));
                measured.LegendText = $"{row.Policy} measured";
                measured.Color = color;
                measured.LineWidth = 2;
            }

            var simulated = plot.Add.Scatter(xs, Log([row.SimP50Ms, row.SimP90Ms, row.SimP99Ms, row.SimP999Ms]));
            simulated.LegendText = $"{row.Policy} simulated";
            simulated.Color = color;
            simulated.LinePattern = LinePattern.Dashed;
        }

        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("#,0.###", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.Bottom.SetTicks(xs, Percentiles.Select(p => $"p{p}").ToArray());
        plot.Title($"Latency percentiles per policy (log scale), connection per request\n{subtitle}");
        plot.YLabel("latency, ms");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }

    /// <summary>ScottPlot draws a log axis as log10 values with matching tick labels.</summary>
    private static double[] Log(double[] values) => Array.ConvertAll(values, v => Math.Log10(Math.Max(v, 0.001)));
}
