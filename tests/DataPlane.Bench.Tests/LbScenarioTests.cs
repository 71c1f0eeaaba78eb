using System.Text.Json;
using DataPlane.Bench.Scenarios.Lb;

namespace DataPlane.Bench.Tests;

/// <summary>The lb scenario's output when the proxy cannot be measured, and its charts.</summary>
public sealed class LbScenarioTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G'];
    private readonly string _directory = Directory.CreateTempSubdirectory("lb-scenario-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task WithoutAProxy_SkipsButStillReportsEverySimulationRowAndWritesTheCharts()
    {
        var scenario = new LbScenario(() => null);

        var skipped = await Assert.ThrowsAsync<ScenarioSkippedException>(() => scenario.RunAsync(new ScenarioContext(Quick: true, _directory), CancellationToken.None));

        Assert.Contains("dataplane.dll was not found", skipped.Message, StringComparison.Ordinal);
        var partial = Assert.IsType<ScenarioReport>(skipped.Partial);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(partial.Json, JsonOptions.Default));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(8, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal(JsonValueKind.Null, row.GetProperty("slowShare").ValueKind);
            Assert.Equal(JsonValueKind.Null, row.GetProperty("p99Ms").ValueKind);
            Assert.InRange(row.GetProperty("simSlowShare").GetDouble(), 0, 0.3);
            Assert.True(row.GetProperty("simP99Ms").GetDouble() > 0);
        });
        Assert.False(json.RootElement.GetProperty("measured").GetBoolean());
        Assert.Equal([LbCharts.ShareFile, LbCharts.LatencyFile], partial.Charts);
        foreach (var chart in partial.Charts!)
        {
            Assert.Contains($"]({chart})", partial.Markdown, StringComparison.Ordinal);
            Assert.Equal(PngSignature, File.ReadAllBytes(Path.Combine(_directory, chart))[..4]);
        }
    }

    [Fact]
    public void Charts_WithMeasuredRows_AreWrittenAsPng()
    {
        LbRow[] rows =
        [
            new("round-robin", "per-request", 0.2, 900, 12, 9000, 18000, 19000, 0, 0.2, 11, 9100, 18100, 18900),
            new("p2c", "per-request", 0.034, 1100, 13, 18, 160, 210, 0, 0.036, 11, 17, 150, 200),
            new("round-robin", "persistent", 0.2, 200, 12, 4500, 8400, 8900, 0, 0.2, 11, 4600, 9000, 9600),
            new("p2c", "persistent", 0.2, 190, 14, 4800, 9000, 9400, 0, 0.22, 11, 4800, 10400, 10800),
        ];

        var charts = LbCharts.Write(_directory, rows, "test");

        Assert.Equal(2, charts.Count);
        Assert.All(charts, chart => Assert.Equal(PngSignature, File.ReadAllBytes(Path.Combine(_directory, chart))[..4]));
    }
}
