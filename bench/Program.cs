using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Running;
using DataPlane.Bench;

// dotnet run -c Release --project bench                       every scenario, quick, then summary.md
// dotnet run -c Release --project bench -- NAME [--quick] [--json FILE]
// dotnet run -c Release --project bench -- micro [BenchmarkDotNet arguments]
if (args.Length > 0 && args[0] == "micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
    return 0;
}

if (args.Length > 0 && args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: bench [SCENARIO [--quick] [--json FILE]] | micro [BenchmarkDotNet args]");
    foreach (var s in ScenarioCatalog.All)
    {
        Console.WriteLine($"  {s.Name,-10} {s.Description}");
    }

    return 0;
}

var results = ResultsDirectory.Locate();
var charts = new List<string>();
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

if (args.Length == 0)
{
    var summary = new StringBuilder();
    summary.AppendLine("# DataPlane benchmark summary").AppendLine();
    summary.AppendLine(CultureInfo.InvariantCulture, $"Quick mode, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}.");
    summary.AppendLine("Machines are shared and noisy: read the ratios to the baseline measured in the same run.").AppendLine();
    var failed = 0;
    var sections = new StringBuilder();
    foreach (var scenario in ScenarioCatalog.All)
    {
        var markdown = await RunOne(scenario, quick: true, jsonPath: null);
        failed += markdown is null ? 1 : 0;
        sections.AppendLine(CultureInfo.InvariantCulture, $"## {scenario.Name}").AppendLine().AppendLine(markdown ?? "failed: see the console.").AppendLine();
    }

    if (charts.Count > 0)
    {
        summary.AppendLine(CultureInfo.InvariantCulture, $"Charts: {string.Join(", ", charts.Select(c => $"[{c}]({c})"))}.").AppendLine();
    }

    summary.Append(sections);

    var summaryPath = Path.Combine(results, "summary.md");
    await File.WriteAllTextAsync(summaryPath, summary.ToString());
    Console.WriteLine($"summary: {summaryPath}");
    return failed == 0 ? 0 : 1;
}

var named = ScenarioCatalog.All.FirstOrDefault(s => s.Name == args[0]);
if (named is null)
{
    Console.Error.WriteLine($"unknown scenario '{args[0]}'; known: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}, micro");
    return 2;
}

var quick = args.Contains("--quick");
var jsonIndex = Array.IndexOf(args, "--json");
var json = jsonIndex >= 0 && jsonIndex + 1 < args.Length ? args[jsonIndex + 1] : null;
return await RunOne(named, quick, json) is null ? 1 : 0;

async Task<string?> RunOne(IScenario scenario, bool quick, string? jsonPath)
{
    Console.WriteLine($"== {scenario.Name}{(quick ? " (quick)" : string.Empty)}: {scenario.Description}");
    var clock = Stopwatch.StartNew();
    try
    {
        var report = await scenario.RunAsync(new ScenarioContext(quick, results), cancel.Token);
        await Write(scenario, report, jsonPath);
        Console.WriteLine($"({scenario.Name}: {clock.Elapsed.TotalSeconds:F1} s; JSON {jsonPath ?? Path.Combine(results, $"{scenario.Name}.json")})");
        Console.WriteLine();
        return report.Markdown;
    }
    catch (ScenarioSkippedException skipped)
    {
        Console.WriteLine($"skipped {scenario.Name}: {skipped.Message}");
        if (skipped.Partial is not { } partial)
        {
            return $"skipped: {skipped.Message}";
        }

        // What the scenario could still produce (simulation rows, say) is written like a full report, under the reason.
        var markdown = $"skipped: {skipped.Message}{Environment.NewLine}{Environment.NewLine}{partial.Markdown}";
        await Write(scenario, partial with { Markdown = markdown }, jsonPath);
        return markdown;
    }
    catch (Exception e) when (e is not OperationCanceledException)
    {
        Console.Error.WriteLine($"failed {scenario.Name}: {e}");
        return null;
    }
}

async Task Write(IScenario scenario, ScenarioReport report, string? jsonPath)
{
    jsonPath ??= Path.Combine(results, $"{scenario.Name}.json");
    await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report.Json, JsonOptions.Default));
    await File.WriteAllTextAsync(Path.Combine(results, $"{scenario.Name}.md"), report.Markdown);
    Console.WriteLine(report.Markdown);
    charts.AddRange(report.Charts ?? []);
}
