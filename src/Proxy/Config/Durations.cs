using System.Globalization;

namespace DataPlane.Proxy.Config;

/// <summary>Parses the duration and rate notations of the command line and the config file.</summary>
internal static class Durations
{
    /// <summary>
    /// The longest duration: a year, far below TimeSpan's limit (29,000 years, past which FromSeconds throws),
    /// so that a timeout added to a timestamp cannot overflow either.
    /// </summary>
    private const double MaxSeconds = 365 * 86_400;

    /// <summary><c>250ms</c>, <c>2s</c>, <c>5m</c>, <c>1h</c>, or a plain number of seconds.</summary>
    /// <exception cref="FormatException">Not one of those, or negative.</exception>
    public static TimeSpan Parse(string text, string what)
    {
        var t = text.Trim();
        var (number, scale) = t switch
        {
            _ when t.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (t[..^2], 0.001),
            _ when t.EndsWith('s') || t.EndsWith('S') => (t[..^1], 1.0),
            _ when t.EndsWith('m') || t.EndsWith('M') => (t[..^1], 60.0),
            _ when t.EndsWith('h') || t.EndsWith('H') => (t[..^1], 3600.0),
            _ => (t, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || !double.IsFinite(value))
        {
            throw new FormatException($"{what}: '{text}' is not a duration (examples: 250ms, 2s, 5m, 1h).");
        }

        if (value * scale > MaxSeconds)
        {
            throw new FormatException($"{what}: '{text}' is longer than the longest duration, {MaxSeconds / 86_400:N0} days.");
        }

        return TimeSpan.FromSeconds(value * scale);
    }

    /// <summary><c>1000/s</c>, <c>60/m</c>, or a plain number per second.</summary>
    /// <exception cref="FormatException">Not one of those, or not positive.</exception>
    public static double ParseRate(string text, string what)
    {
        var t = text.Trim();
        var slash = t.IndexOf('/', StringComparison.Ordinal);
        var per = slash < 0 ? "s" : t[(slash + 1)..].Trim();
        var count = slash < 0 ? t : t[..slash];
        var seconds = per switch
        {
            "s" or "sec" => 1.0,
            "m" or "min" => 60.0,
            "h" => 3600.0,
            _ => double.NaN,
        };
        if (double.IsNaN(seconds) || !double.TryParse(count, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || !double.IsFinite(value))
        {
            throw new FormatException($"{what}: '{text}' is not a rate (examples: 1000/s, 60/m).");
        }

        return value / seconds;
    }

    /// <summary>Turns <c>\r</c>, <c>\n</c>, <c>\t</c> and <c>\\</c> in a command-line string into the characters.</summary>
    public static string Unescape(string text) =>
        text.Replace("\\r", "\r", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
}
