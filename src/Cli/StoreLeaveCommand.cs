using System.CommandLine;
using System.Net;
using DataPlane.Store.Membership;

namespace DataPlane.Cli;

/// <summary>`dataplane store leave`: decommissions a cluster node; its partitions stream to their new owners while the cluster serves.</summary>
internal static class StoreLeaveCommand
{
    public static Command Create()
    {
        var peerAdmin = new Option<string>("--peer-admin") { Description = "A member's --peer-listen address to ask (the node itself, or any member with --node).", Required = true };
        var node = new Option<string?>("--node") { Description = "The node to remove; default: the node at --peer-admin." };
        var clusterName = new Option<string>("--cluster-name") { Description = "The cluster's name.", DefaultValueFactory = _ => "dataplane" };
        var wait = new Option<string>("--wait") { Description = "How long to wait for the rebalance to end: 60s, 5m; 0 returns at once.", DefaultValueFactory = _ => "5m" };
        var command = new Command("leave", "Removes a node from a running store cluster (a new epoch; its data moves to the remaining nodes).");
        command.Options.Add(peerAdmin);
        command.Options.Add(node);
        command.Options.Add(clusterName);
        command.Options.Add(wait);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(peerAdmin)!, out var address))
            {
                Console.Error.WriteLine($"dataplane store leave: --peer-admin must be ADDRESS:PORT, got '{parse.GetValue(peerAdmin)}'.");
                return 2;
            }

            TimeSpan? limit = parse.GetValue(wait) == "0" ? null : StoreCommand.TryParseDuration(parse.GetValue(wait)!, out var d) ? d : TimeSpan.Zero;
            if (limit == TimeSpan.Zero)
            {
                Console.Error.WriteLine("dataplane store leave: --wait takes 0, 60s or 5m.");
                return 2;
            }

            try
            {
                var membership = await ClusterAdmin.LeaveAsync(address, parse.GetValue(clusterName)!, parse.GetValue(node), limit, cancellationToken);
                Console.WriteLine($"dataplane store leave: {membership}");
                return 0;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine("dataplane store leave: " + e.Message);
                return 1;
            }
        });
        return command;
    }
}
