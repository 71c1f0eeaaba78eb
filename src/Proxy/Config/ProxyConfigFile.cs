using System.Net;
using System.Text;
using System.Text.Json;

namespace DataPlane.Proxy.Config;

/// <summary>
/// Reads the JSON config file: <c>{"admin": "127.0.0.1:9901", "listeners": [{"listen": ..., "upstreams":
/// ["HOST:PORT" or {"address": ..., "weight": ...}], "policy": ..., ...}]}</c>. Each listener's settings
/// default to the command line's. Any error names the file, the listener and the field.
/// </summary>
internal static class ProxyConfigFile
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <exception cref="FormatException">The file does not parse, or a value is invalid.</exception>
    public static ProxyConfig Load(string path, ProxyOptions defaults, IPEndPoint? defaultAdmin)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: cannot read ({e.Message}).", e);
        }

        return Parse(text, defaults, defaultAdmin, path);
    }

    /// <exception cref="FormatException">The text does not parse, or a value is invalid.</exception>
    public static ProxyConfig Parse(string json, ProxyOptions defaults, IPEndPoint? defaultAdmin, string source = "config")
    {
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            var root = document.RootElement;
            var admin = root.TryGetProperty("admin", out var a) ? ParseEndPoint(a.GetString() ?? throw new FormatException("admin: must be \"IP:PORT\"."), "admin") : defaultAdmin;
            if (!root.TryGetProperty("listeners", out var listeners) || listeners.ValueKind != JsonValueKind.Array || listeners.GetArrayLength() == 0)
            {
                throw new FormatException("'listeners' must be a non-empty array.");
            }

            var result = new List<ProxyOptions>();
            var index = 0;
            foreach (var listener in listeners.EnumerateArray())
            {
                var options = ParseListener(listener, defaults, index++);
                if (result.Exists(o => o.Listen.Equals(options.Listen)))
                {
                    throw new FormatException($"two listeners on {options.Listen}.");
                }

                result.Add(options);
            }

            return new ProxyConfig(admin, result);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>Parses <c>HOST:PORT</c> into a local endpoint (IP literal or localhost).</summary>
    /// <exception cref="FormatException">Not an address with a port.</exception>
    public static IPEndPoint ParseEndPoint(string text, string what)
    {
        var t = text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + text[9..] : text;
        return IPEndPoint.TryParse(t, out var endPoint) && t.Contains(':', StringComparison.Ordinal)
            ? endPoint
            : throw new FormatException($"{what}: '{text}' is not IP:PORT.");
    }

    /// <summary>Parses a transport name as the command line spells it.</summary>
    public static ProxyTransport ParseTransport(string text) => text.Trim().ToLowerInvariant() switch
    {
        "epoll" => ProxyTransport.Epoll,
        "sockets" => ProxyTransport.Sockets,
        _ => throw new FormatException($"transport: '{text}' is not one of epoll, sockets."),
    };

    /// <summary>Parses a policy name as the command line spells it.</summary>
    /// <exception cref="FormatException">Unknown name.</exception>
    public static BalancingPolicy ParsePolicy(string text) => text.Trim().ToLowerInvariant() switch
    {
        "round-robin" => BalancingPolicy.RoundRobin,
        "least-conn" => BalancingPolicy.LeastConnections,
        "p2c" => BalancingPolicy.PowerOfTwoChoices,
        "p2c-ewma" => BalancingPolicy.PeakEwma,
        "ring-hash" => BalancingPolicy.RingHash,
        _ => throw new FormatException($"policy: '{text}' is not one of round-robin, least-conn, p2c, p2c-ewma, ring-hash."),
    };

    private static ProxyOptions ParseListener(JsonElement e, ProxyOptions d, int index)
    {
        var listen = ParseEndPoint(Required(e, "listen", index), $"listeners[{index}].listen");
        if (!e.TryGetProperty("upstreams", out var ups) || ups.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"listeners[{index}]: 'upstreams' must be an array.");
        }

        var upstreams = new List<UpstreamOptions>();
        foreach (var u in ups.EnumerateArray())
        {
            var where = $"listeners[{index}].upstreams[{upstreams.Count}]";
            upstreams.Add(u.ValueKind switch
            {
                JsonValueKind.String => new UpstreamOptions(u.GetString()!),
                JsonValueKind.Object => new UpstreamOptions(Text(u, "address") ?? throw new FormatException($"{where}: 'address' is required."), u.TryGetProperty("weight", out var w) ? w.GetDouble() : 1.0),
                _ => throw new FormatException($"{where}: must be \"HOST:PORT\" or {{\"address\": ..., \"weight\": ...}}."),
            });
        }

        var options = d with
        {
            Listen = listen,
            Name = Text(e, "name") ?? d.Name,
            Upstreams = upstreams,
            Policy = Text(e, "policy") is { } p ? ParsePolicy(p) : d.Policy,
            ConnectTimeout = Duration(e, "connectTimeout") ?? d.ConnectTimeout,
            IdleTimeout = Duration(e, "idleTimeout") ?? d.IdleTimeout,
            MaxConnections = Int(e, "maxConnections") ?? d.MaxConnections,
            Retries = Int(e, "retries") ?? d.Retries,
            RateLimit = Text(e, "rateLimit") is { } r ? Durations.ParseRate(r, "rateLimit") : d.RateLimit,
            RateBurst = Int(e, "rateBurst") ?? d.RateBurst,
            RejectResponse = Text(e, "rejectResponse") is { } rr ? Encoding.UTF8.GetBytes(rr) : d.RejectResponse,
            BreakerFailures = Int(e, "breakerFailures") ?? d.BreakerFailures,
            BreakerOpen = Duration(e, "breakerOpen") ?? d.BreakerOpen,
            BreakerHalfOpenTrials = Int(e, "breakerHalfOpenTrials") ?? d.BreakerHalfOpenTrials,
            HealthInterval = Duration(e, "healthInterval") ?? d.HealthInterval,
            EjectionFailures = Int(e, "ejectionFailures") ?? d.EjectionFailures,
            EjectionBase = Duration(e, "ejectionBase") ?? d.EjectionBase,
            MaxEjectionPercent = Int(e, "maxEjectionPercent") ?? d.MaxEjectionPercent,
            SlowStart = Duration(e, "slowStart") ?? d.SlowStart,
            DrainTimeout = Duration(e, "drainTimeout") ?? d.DrainTimeout,
            Transport = Text(e, "transport") is { } t ? ParseTransport(t) : d.Transport,
        };
        options.Validate();
        return options;
    }

    private static string Required(JsonElement e, string name, int index) =>
        Text(e, name) ?? throw new FormatException($"listeners[{index}]: '{name}' is required.");

    private static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt32() : null;

    private static TimeSpan? Duration(JsonElement e, string name) => Text(e, name) is { } t ? Durations.Parse(t, name) : null;
}
