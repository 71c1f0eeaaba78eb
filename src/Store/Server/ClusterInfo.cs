using DataPlane.Store.Cluster;

namespace DataPlane.Store.Server;

/// <summary>INFO's cluster fields: this node, its peers and their state, hints pending per peer, read repairs.</summary>
internal static class ClusterInfo
{
    public static void Replication(ClusterNode? cluster, Action<string, object> line)
    {
        if (cluster is null)
        {
            return;
        }

        var o = cluster.Options;
        line("cluster_node_id", o.NodeId);
        line("cluster_replicas", o.Replicas);
        line("cluster_read_quorum", o.ReadQuorum);
        line("cluster_write_quorum", o.WriteQuorum);
        line("read_repairs", cluster.ReadRepairs);
        line("hints_pending", cluster.HintsPending);
    }

    public static void Cluster(ClusterNode? cluster, Action<string, object> line)
    {
        if (cluster is null)
        {
            line("cluster_mode", "single");
            return;
        }

        var o = cluster.Options;
        line("cluster_mode", "quorum");
        line("node_id", o.NodeId);
        line("peer_listen", cluster.PeerEndPoint);
        line("partitions", o.Partitions);
        line("replicas", o.Replicas);
        line("read_quorum", o.ReadQuorum);
        line("write_quorum", o.WriteQuorum);
        line("request_timeout_ms", (long)o.RequestTimeout.TotalMilliseconds);
        line("peers", cluster.Peers.Count());
        var i = 0;
        foreach (var peer in cluster.Peers)
        {
            line($"peer{i++}", $"name={peer.Name},address={peer.Client.EndPoint},state={(peer.Suspected ? "down" : "up")},hints_pending={cluster.Hints.PendingFor(peer.Name)}");
        }

        line("hints_delivered", cluster.Hints.Delivered);
        line("hints_dropped", cluster.Hints.Dropped);
        line("hints_refused", cluster.Hints.Refused);
        line("read_repairs", cluster.ReadRepairs);
        line("internode_protocol_errors", cluster.ProtocolErrors);
        var ae = cluster.AntiEntropy;
        line("anti_entropy", o.AntiEntropy ? "on" : "off");
        line("anti_entropy_rounds", ae.Rounds);
        line("anti_entropy_partitions_compared", ae.PartitionsCompared);
        line("anti_entropy_partitions_differing", ae.PartitionsDiffering);
        line("anti_entropy_leaves_differing", ae.LeavesDiffering);
        line("anti_entropy_leaves_settled", ae.LeavesSettled);
        line("anti_entropy_log_scans", ae.LogScans);
        line("anti_entropy_keys_sent", ae.KeysSent);
        line("anti_entropy_keys_received", ae.KeysReceived);
        line("anti_entropy_bytes", ae.BytesExchanged);
        RebalanceInfo.Lines(cluster, line);
    }
}
