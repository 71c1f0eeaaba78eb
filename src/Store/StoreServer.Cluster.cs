using DataPlane.Store.Cluster;
using DataPlane.Store.Coordination;
using DataPlane.Store.Server;

namespace DataPlane.Store;

public sealed partial class StoreServer
{
    private ClusterNode? _cluster;

    /// <summary>The address peers replicate to (with the real port when <see cref="ClusterOptions.PeerListen"/> asked for port 0); null for a single node.</summary>
    public System.Net.IPEndPoint? PeerEndPoint => _cluster?.PeerEndPoint;

    internal ClusterNode? ClusterNode => _cluster;

    /// <summary>Before the replica opens: checks the cluster settings and the data directory's node id. After: joins the cluster.</summary>
    private void StartCluster(bool validateOnly)
    {
        if (_options.Cluster is not { } cluster)
        {
            return;
        }

        if (validateOnly)
        {
            var errors = cluster.Validate(out _);
            if (errors.Count > 0)
            {
                throw new InvalidOperationException("Invalid cluster settings: " + string.Join("; ", errors));
            }

            NodeIdentity.Claim(_options.DataDirectory, cluster.NodeId);
            return;
        }

        var standalone = new StoreContext(_options, Replica, _context!.Stats) { Port = _context.Port };
        _cluster = new ClusterNode(cluster, _options, Replica, standalone, _loggers);
        _context.Cluster = _cluster;
        _context.ClusterCommands = new ClusterCommands(_cluster.Coordinator, _options.TimeProvider, _context.MaxValueLength);
        _cluster.Start();
    }

    private async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
