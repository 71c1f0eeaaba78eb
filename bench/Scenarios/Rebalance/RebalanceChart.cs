using ScottPlot;

namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>Client ops/s and p99 latency per second through the run, with the join and leave windows shaded.</summary>
internal static class RebalanceChart
{
    public const string File = "rebalance-timeline.png";

    public static string Write(string directory, IReadOnlyList<Second> timeline, IReadOnlyList<StoreEvent> events, string subtitle)
    {
        var plot = new Plot();
        var xs = timeline.Select(s => (double)s.T).ToArray();
        var ops = plot.Add.Scatter(xs, timeline.Select(s => s.Ops).ToArray());
        ops.LegendText = "client ops/s";
        ops.Color = plot.Add.Palette.GetColor(0);
        var p99 = plot.Add.Scatter(xs, timeline.Select(s => s.P99Ms).ToArray());
        p99.LegendText = "p99 ms (right axis)";
        p99.Color = plot.Add.Palette.GetColor(1);
        p99.Axes.YAxis = plot.Axes.Right;
        foreach (var e in events)
        {
            var span = plot.Add.HorizontalSpan(e.Start, e.Start + e.Seconds);
            span.LegendText = e.Event;
            span.FillStyle.Color = (e.Event == "join" ? Colors.Green : Colors.Orange).WithAlpha(0.2);
        }

        plot.Title($"Client load through a join and a leave\n{subtitle}");
        plot.XLabel("seconds");
        plot.Axes.Left.Label.Text = "ops/s";
        plot.Axes.Right.Label.Text = "p99 ms";
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(Path.Combine(directory, File), 900, 520);
        return File;
    }
}
