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

    /// <summary>
    /// Completes once this node is connected to every peer it knows, so that a write made now reaches
    /// its replicas rather than hints; at once for a single node. Until then a node counts its peers
    /// as down.
    /// </summary>
    public async Task WaitForPeersAsync(CancellationToken cancellationToken = default)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (_cluster is { } node && !node.Peers.All(p => p.Client.IsConnected && !p.Suspected))
        {
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }

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
        _cluster = new ClusterNode(cluster, _options, Replica, standalone, _loggers, _listener!.Loops);
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
