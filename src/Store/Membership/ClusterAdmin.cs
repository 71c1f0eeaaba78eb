using System.Net;
using System.Text;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Membership;

/// <summary>Membership changes asked of a running cluster over its peer protocol (what <c>dataplane store leave</c> runs).</summary>
public static class ClusterAdmin
{
    /// <summary>
    /// Decommissions a node: <paramref name="peerAddress"/> (any member's peer address) starts a new
    /// epoch without <paramref name="nodeId"/> (null: the node at that address), whose partitions then
    /// stream to their new owners. With <paramref name="wait"/>, returns once the rebalance has ended.
    /// Returns a line describing the membership.
    /// </summary>
    /// <exception cref="InvalidOperationException">The node refused: not a member, a rebalance already running, too few nodes left for N.</exception>
    /// <exception cref="TimeoutException">The rebalance did not end within <paramref name="wait"/>.</exception>
    public static async Task<string> LeaveAsync(IPEndPoint peerAddress, string clusterName, string? nodeId, TimeSpan? wait, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peerAddress);
        var payload = nodeId is null ? [] : Encoding.ASCII.GetBytes(nodeId);
        var reply = await AdminCall.CallAsync(peerAddress, "admin", clusterName, FrameType.LeaveRequest, payload, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (reply.Type != FrameType.MembershipReply)
        {
            throw new InvalidOperationException(Encoding.UTF8.GetString(reply.Payload));
        }

        var membership = ClusterMembership.Decode(reply.Payload);
        if (wait is not { } limit)
        {
            return membership.ToString();
        }

        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < limit)
        {
            var now = await AdminCall.CallAsync(peerAddress, "admin", clusterName, FrameType.MembershipRequest, [], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            var current = ClusterMembership.Decode(now.Payload);
            if (current.Epoch > membership.Epoch && !current.IsTransitional)
            {
                return current.ToString();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"the rebalance after {membership} did not end within {limit}");
    }
}
