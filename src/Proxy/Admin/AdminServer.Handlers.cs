using System.Text;
using System.Text.Json;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Admin;

/// <summary>What each admin path answers.</summary>
internal sealed partial class AdminServer
{
    private async Task<(int Status, string ContentType, byte[] Body)> RespondAsync(string path, CancellationToken cancellationToken)
    {
        switch (path)
        {
            case "/metrics":
                using (var stream = new MemoryStream())
                {
                    await _registry.CollectAndExportAsTextAsync(stream, cancellationToken);
                    foreach (var (name, value) in _hostCounters())
                    {
                        stream.Write(Encoding.UTF8.GetBytes($"# TYPE {name} counter\n{name} {value}\n"));
                    }

                    return (200, "text/plain; version=0.0.4; charset=utf-8", stream.ToArray());
                }

            case "/healthz":
                return (200, "text/plain", "ok\n"u8.ToArray());
            case "/ready":
                var listeners = _listeners();
                var ready = listeners.Count > 0 && listeners.All(l => l.IsReady);
                return (ready ? 200 : 503, "text/plain", ready ? "ready\n"u8.ToArray() : "not ready\n"u8.ToArray());
            case "/upstreams":
                return (200, "application/json", UpstreamsJson());
            default:
                return (404, "text/plain", "not found: try /metrics, /healthz, /ready, /upstreams\n"u8.ToArray());
        }
    }

    private byte[] UpstreamsJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var listener in _listeners())
            {
                var time = listener.Time;
                var now = time.GetTimestamp();
                var options = listener.Options;
                json.WriteStartObject();
                json.WriteString("listener", listener.Name);
                json.WriteString("policy", options.Policy.ToString());
                json.WriteNumber("activeConnections", listener.ActiveConnections);
                json.WriteStartArray("upstreams");
                foreach (var u in listener.Cluster.Set.Items)
                {
                    WriteUpstream(json, u, now, options, time);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return stream.ToArray();
    }

    private static void WriteUpstream(Utf8JsonWriter json, Upstream u, long now, ProxyOptions options, TimeProvider time)
    {
        json.WriteStartObject();
        json.WriteString("address", u.Address);
        json.WriteString("health", !u.ProbeHealthy ? "unhealthy" : u.IsEjected(now) ? "ejected" : "healthy");
        if (u.IsEjected(now))
        {
            json.WriteString("ejectedUntil", DateTimeOffset.UtcNow + time.GetElapsedTime(now, u.EjectedUntil));
        }
        else
        {
            json.WriteNull("ejectedUntil");
        }

        json.WriteNumber("ejections", u.Ejections);
        json.WriteString("breaker", u.Breaker.State.ToString());
        json.WriteNumber("active", u.Active);
        json.WriteNumber("total", u.Total);
        json.WriteNumber("weight", u.Weight);
        json.WriteNumber("slowStartFactor", u.SlowStartFactor(now, (long)(options.SlowStart.TotalSeconds * time.TimestampFrequency)));
        json.WriteNumber("latencyMs", u.LatencyMs);
        json.WriteNumber("bytesToUpstream", u.BytesToUpstream);
        json.WriteNumber("bytesToClient", u.BytesToClient);
        json.WriteStartObject("failures");
        foreach (var cause in Enum.GetValues<ConnectFailure>())
        {
            json.WriteNumber(cause.ToString().ToLowerInvariant(), u.Failures(cause));
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
