using System.Net;

namespace DataPlane.Cli;

/// <summary>
/// The <c>--metrics ADDRESS:PORT</c> endpoint the subcommands share: prometheus-net's meter adapter publishes every
/// System.Diagnostics.Metrics meter (the component's <c>DataPlane.*</c> meter and the runtime's) as Prometheus text
/// at <c>http://ADDRESS:PORT/metrics</c>.
/// </summary>
internal static class MetricsEndpoint
{
    /// <summary>Parses the option's value; false (after printing why) when it is not ADDRESS:PORT.</summary>
    public static bool TryParse(string? text, string command, out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (text is null || IPEndPoint.TryParse(text, out endPoint))
        {
            return true;
        }

        Console.Error.WriteLine($"dataplane {command}: --metrics must be ADDRESS:PORT, got '{text}'.");
        return false;
    }

    /// <summary>Starts serving when an address was given; dispose the result to stop.</summary>
    public static async Task<IDisposable?> StartAsync(IPEndPoint? endPoint)
    {
        if (endPoint is null)
        {
            return null;
        }

        var server = new Prometheus.MetricServer(endPoint.Address.ToString(), endPoint.Port);
        server.Start();
        // prometheus-net starts its meter adapter on the registry's first collection: until then counters and
        // histograms that are pushed (not observed) lose what they record. Collect once now, before any traffic.
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).ConfigureAwait(false);
        return server;
    }
}
