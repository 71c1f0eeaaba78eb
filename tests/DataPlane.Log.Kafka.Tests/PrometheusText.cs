using System.Globalization;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>The samples of a Prometheus text exposition: name, labels, value.</summary>
internal sealed class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];
    private readonly string _text;

    private PrometheusText(string text) => _text = text;

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText(text);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = series.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? series : series[..brace];
            if (brace >= 0)
            {
                foreach (var pair in series[(brace + 1)..^1].Split("\",", StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..equals]] = pair[(equals + 1)..].Trim('"');
                }
            }

            parsed._samples.Add((name, labels, double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture)));
        }

        return parsed;
    }

    /// <summary>The sum of every sample of <paramref name="name"/> carrying all of <paramref name="labels"/> (0 when none).</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        _samples.FindAll(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>The one sample of <paramref name="name"/> carrying all of <paramref name="labels"/>.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = _samples.FindAll(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));
        Assert.True(matches.Count == 1, $"one sample of {name} with {string.Join(',', labels)} expected, found {matches.Count} in:\n{_text}");
        return matches[0].Value;
    }
}
