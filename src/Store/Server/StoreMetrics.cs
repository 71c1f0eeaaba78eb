using System.Diagnostics.Metrics;

namespace DataPlane.Store.Server;

/// <summary>The store's instruments on the <c>DataPlane.Store</c> meter; the executable exposes them to Prometheus.</summary>
internal sealed class StoreMetrics : IDisposable
{
    public const string MeterName = "DataPlane.Store";

    private readonly Meter _meter = new(MeterName);

    public StoreMetrics(StoreContext context)
    {
        var stats = context.Stats;
        var replica = context.Replica;
        _meter.CreateObservableCounter("commands", () => stats.TotalCommands, description: "Commands executed.");
        _meter.CreateObservableCounter("connections", () => stats.TotalConnections, description: "Connections accepted.");
        _meter.CreateObservableCounter("expired_keys", () => stats.ExpiredKeys, description: "Expired keys and tombstones reclaimed.");
        _meter.CreateObservableCounter("protocol_errors", () => stats.ProtocolErrors, description: "Connections closed for a malformed request.");
        _meter.CreateObservableGauge("connected_clients", () => stats.Connected, description: "Open connections.");
        _meter.CreateObservableGauge("keys", () => replica.KeyCount, description: "Keys holding a value (DBSIZE).");
        _meter.CreateObservableGauge("wal_segment", () => replica.Wal.Segment, description: "The write-ahead log segment being written.");
        _meter.CreateObservableCounter("anti_entropy.rounds", () => context.Cluster?.AntiEntropy.Rounds ?? 0, description: "Anti-entropy rounds started.");
        _meter.CreateObservableCounter("anti_entropy.partitions_compared", () => context.Cluster?.AntiEntropy.PartitionsCompared ?? 0, description: "Partition roots compared with a peer.");
        _meter.CreateObservableCounter("anti_entropy.partitions_differing", () => context.Cluster?.AntiEntropy.PartitionsDiffering ?? 0, description: "Compared partitions whose roots differed.");
        _meter.CreateObservableCounter("anti_entropy.log_scans", () => context.Cluster?.AntiEntropy.LogScans ?? 0, description: "Passes over the whole log to list the keys of differing leaves.");
        _meter.CreateObservableCounter("anti_entropy.keys_sent", () => context.Cluster?.AntiEntropy.KeysSent ?? 0, description: "Values anti-entropy sent to peers.");
        _meter.CreateObservableCounter("anti_entropy.keys_received", () => context.Cluster?.AntiEntropy.KeysReceived ?? 0, description: "Values anti-entropy received from peers.");
        _meter.CreateObservableCounter("anti_entropy.bytes", () => context.Cluster?.AntiEntropy.BytesExchanged ?? 0, unit: "By", description: "Bytes of anti-entropy frames sent and received.");
        _meter.CreateObservableGauge("hints.pending", () => context.Cluster?.HintsPending ?? 0, description: "Hints kept here for peers, not yet delivered.");
        _meter.CreateObservableCounter("hints.delivered", () => context.Cluster?.Hints.Delivered ?? 0, description: "Hints delivered to their nodes and deleted.");
        _meter.CreateObservableCounter("hints.dropped", () => context.Cluster?.Hints.Dropped ?? 0, description: "Hints dropped undelivered: too old, or for a node that left.");
        _meter.CreateObservableCounter("hints.refused", () => context.Cluster?.Hints.Refused ?? 0, description: "Hints in no hint file: the disk refused them, or the store was closing or its writer failed (their replicas catch up through read repair and anti-entropy).");
        RebalanceInfo.Instruments(_meter, context);
        _meter.CreateObservableGauge("last_checkpoint", () => replica.LastCheckpointUnixSeconds, unit: "s", description: "When the last checkpoint completed (Unix time).");
    }

    public void Dispose() => _meter.Dispose();
}
