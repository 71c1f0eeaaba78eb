using System.Diagnostics.Metrics;
using System.Globalization;
using DataPlane.Log.Groups;
using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

/// <summary>
/// The broker's instruments on the <c>DataPlane.Log</c> meter; the executable exposes them to Prometheus. Per-request
/// recording is a few interlocked adds into plain counters (no lock, no allocation, no tag boxing), read by observable
/// instruments when a collector asks, as are the per-partition and per-group figures.
/// </summary>
internal sealed class KafkaMetrics : IDisposable
{
    public const string MeterName = "DataPlane.Log";

    private static readonly string[] ApiNames = BuildApiNames();
    private static readonly string[] ErrorCodes = BuildErrorCodes();

    private readonly Meter _meter = new(MeterName);
    private readonly KafkaServer _server;
    private readonly long[,] _requests = new long[ApiNames.Length + 1, ErrorCodes.Length + 1];
    private long _bytesIn;
    private long _bytesOut;
    private readonly Histogram<double> _produceLatency;
    private readonly Histogram<double> _fetchLatency;
    private long _accepted;
    private long _connected;
    private long _acceptErrors;
    private long _protocolErrors;

    public KafkaMetrics(KafkaServer server)
    {
        _server = server;
        _meter.CreateObservableCounter("requests", ObserveRequests, description: "Requests answered, by API and by the first error code in the response (0: none).");
        _meter.CreateObservableCounter("bytes_in", () => Interlocked.Read(ref _bytesIn), unit: "By", description: "Request bytes received, size prefixes included.");
        _meter.CreateObservableCounter("bytes_out", () => Interlocked.Read(ref _bytesOut), unit: "By", description: "Response bytes sent, size prefixes included.");
        _produceLatency = _meter.CreateHistogram<double>("produce.duration", unit: "s", description: "Produce requests from parse to response (acks=all: after the fsync).");
        _fetchLatency = _meter.CreateHistogram<double>("fetch.duration", unit: "s", description: "Fetch requests from parse to response, long-poll wait included.");
        _meter.CreateObservableCounter("connections", () => Interlocked.Read(ref _accepted), description: "Connections accepted.");
        _meter.CreateObservableGauge("connected_clients", () => Interlocked.Read(ref _connected), description: "Open connections.");
        _meter.CreateObservableCounter("accept_errors", () => Interlocked.Read(ref _acceptErrors), description: "Errors the accept loop met.");
        _meter.CreateObservableCounter("protocol_errors", () => Interlocked.Read(ref _protocolErrors), description: "Connections closed for a malformed, oversized or unsupported request.");
        _meter.CreateObservableGauge("log_end_offset", ObserveLogEndOffsets, description: "Each partition's log end offset (high watermark).");
        _meter.CreateObservableGauge("partition_size", ObservePartitionSizes, unit: "By", description: "Each partition's bytes on disk over all its segments.");
        _meter.CreateObservableGauge("groups", ObserveGroupStates, description: "Consumer groups by state.");
        _meter.CreateObservableGauge("consumer_lag", ObserveLag, description: "Log end offset minus the group's committed offset, per group and partition.");
    }

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Connected => Interlocked.Read(ref _connected);

    public long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    public void Opened()
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _connected);
    }

    public void Closed() => Interlocked.Decrement(ref _connected);

    public void AcceptError() => Interlocked.Increment(ref _acceptErrors);

    public void ProtocolError() => Interlocked.Increment(ref _protocolErrors);

    public void BytesIn(long bytes) => Interlocked.Add(ref _bytesIn, bytes);

    /// <summary>One answered request (or, for acks=0, one that needed no answer).</summary>
    public void Request(short apiKey, short error, int responseBytes, TimeSpan elapsed)
    {
        // The last row and column count keys and codes beyond the tables (reported as "other").
        var api = (uint)apiKey < (uint)ApiNames.Length ? apiKey : ApiNames.Length;
        var code = (uint)error < (uint)ErrorCodes.Length ? error : ErrorCodes.Length;
        Interlocked.Increment(ref _requests[api, code]);
        Interlocked.Add(ref _bytesOut, responseBytes);
        if (apiKey == (short)ApiKey.Produce)
        {
            _produceLatency.Record(elapsed.TotalSeconds);
        }
        else if (apiKey == (short)ApiKey.Fetch)
        {
            _fetchLatency.Record(elapsed.TotalSeconds);
        }
    }

    public void Dispose() => _meter.Dispose();

    private static string[] BuildApiNames()
    {
        var names = new string[(int)ApiKey.DescribeConfigs + 1];
        for (var key = 0; key < names.Length; key++)
        {
            names[key] = Enum.IsDefined((ApiKey)key) ? ((ApiKey)key).ToString() : key.ToString(CultureInfo.InvariantCulture);
        }

        return names;
    }

    private static string[] BuildErrorCodes()
    {
        // Kafka's error codes run to about 120; naming them once keeps scrapes from formatting numbers.
        var codes = new string[128];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return codes;
    }

    private List<Measurement<long>> ObserveRequests()
    {
        var measurements = new List<Measurement<long>>();
        for (var api = 0; api <= ApiNames.Length; api++)
        {
            for (var code = 0; code <= ErrorCodes.Length; code++)
            {
                var count = Interlocked.Read(ref _requests[api, code]);
                if (count > 0)
                {
                    measurements.Add(new Measurement<long>(count,
                        new KeyValuePair<string, object?>("api", api < ApiNames.Length ? ApiNames[api] : "other"),
                        new KeyValuePair<string, object?>("error", code < ErrorCodes.Length ? ErrorCodes[code] : "other")));
                }
            }
        }

        return measurements;
    }

    private static KeyValuePair<string, object?>[] PartitionTags(string topic, int partition) =>
        [new("topic", topic), new("partition", partition.ToString(CultureInfo.InvariantCulture))];

    private List<Measurement<long>> ObserveLogEndOffsets() => ObservePartitions(static log => log.HighWatermark);

    private List<Measurement<long>> ObservePartitionSizes() => ObservePartitions(static log =>
    {
        var size = 0L;
        foreach (var segment in log.Segments)
        {
            size += segment.Size;
        }

        return size;
    });

    private List<Measurement<long>> ObservePartitions(Func<Storage.PartitionLog, long> value)
    {
        var measurements = new List<Measurement<long>>();
        if (_server.TryGetLog() is not { } log)
        {
            return measurements;
        }

        foreach (var topic in log.Topics)
        {
            for (var p = 0; log.TryGet(topic, p, out var partition); p++)
            {
                measurements.Add(new Measurement<long>(value(partition), PartitionTags(topic, p)));
            }
        }

        return measurements;
    }

    private List<Measurement<int>> ObserveGroupStates()
    {
        var counts = new int[(int)GroupState.Dead + 1];
        if (_server.TryGetCoordinator() is { } coordinator)
        {
            foreach (var group in coordinator.Groups)
            {
                counts[(int)coordinator.DescribeGroup(group).State]++;
            }
        }

        var measurements = new List<Measurement<int>>(counts.Length);
        for (var state = 0; state < counts.Length; state++)
        {
            measurements.Add(new Measurement<int>(counts[state], new KeyValuePair<string, object?>("state", ((GroupState)state).ToString())));
        }

        return measurements;
    }

    private List<Measurement<long>> ObserveLag()
    {
        var measurements = new List<Measurement<long>>();
        if (_server.TryGetCoordinator() is not { } coordinator)
        {
            return measurements;
        }

        foreach (var (group, partition, offset) in coordinator.Offsets.All())
        {
            var end = coordinator.Log.GetOffsets(partition.Topic, partition.Partition);
            if (end.Error == LogError.None)
            {
                measurements.Add(new Measurement<long>(Math.Max(end.HighWatermark - offset, 0),
                    [new("group", group), new("topic", partition.Topic), new("partition", partition.Partition.ToString(CultureInfo.InvariantCulture))]));
            }
        }

        return measurements;
    }
}
