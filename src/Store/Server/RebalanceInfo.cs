using System.Diagnostics.Metrics;
using DataPlane.Store.Cluster;

namespace DataPlane.Store.Server;

/// <summary>The membership epoch and the rebalancing counters, in INFO's cluster section and on the store meter.</summary>
internal static class RebalanceInfo
{
    public static void Lines(ClusterNode cluster, Action<string, object> line)
    {
        var view = cluster.View;
        var stats = cluster.Rebalance;
        line("epoch", view.Membership.Epoch);
        line("members", string.Join(',', view.Membership.Members.Select(m => m.Name)));
        line("rebalancing", view.Membership.IsTransitional ? 1 : 0);
        line("rebalance_partitions_moved", stats.PartitionsMoved);
        line("rebalance_keys_moved", stats.KeysMoved);
        line("rebalance_bytes_moved", stats.BytesMoved);
        line("rebalance_transfers_in_flight", stats.TransfersInFlight);
        line("rebalance_transfers_restarted", stats.TransfersRestarted);
        line("rebalance_keys_dropped", stats.KeysDropped);
    }

    public static void Instruments(Meter meter, StoreContext context)
    {
        meter.CreateObservableGauge("epoch", () => context.Cluster?.Epoch ?? 0, description: "The cluster membership epoch this node is in.");
        meter.CreateObservableCounter("rebalance.partitions_moved", () => context.Cluster?.Rebalance.PartitionsMoved ?? 0, description: "Partitions received whole by rebalancing.");
        meter.CreateObservableCounter("rebalance.keys_moved", () => context.Cluster?.Rebalance.KeysMoved ?? 0, description: "Keys received by rebalancing.");
        meter.CreateObservableCounter("rebalance.bytes_moved", () => context.Cluster?.Rebalance.BytesMoved ?? 0, unit: "By", description: "Key and value bytes received by rebalancing.");
        meter.CreateObservableGauge("rebalance.transfers_in_flight", () => context.Cluster?.Rebalance.TransfersInFlight ?? 0, description: "Partition transfers running.");
        meter.CreateObservableCounter("rebalance.transfers_restarted", () => context.Cluster?.Rebalance.TransfersRestarted ?? 0, description: "Transfers started again after a failure.");
    }
}
