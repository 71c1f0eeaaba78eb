using System.Buffers.Binary;
using System.Text;
using DataPlane.Store.Membership;
using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

internal sealed partial class ClusterNode
{
    /// <summary>Membership and rebalancing requests from peers and admin callers (frame types 20-29).</summary>
    private Task<PeerResponse> HandleMembershipFrameAsync(FrameType type, byte[] payload) => type switch
    {
        FrameType.Gossip => Task.FromResult(OnGossip(payload)),
        FrameType.MembershipRequest => Task.FromResult(new PeerResponse(FrameType.MembershipReply, View.Membership.Encode())),
        FrameType.TransferRequest => Task.FromResult(ServeTransfer(payload)),
        FrameType.JoinRequest => OnJoinAsync(payload),
        FrameType.LeaveRequest => OnLeaveAsync(payload.Length == 0 ? Options.NodeId : Encoding.ASCII.GetString(payload)),
        _ => throw new InvalidDataException($"internode frame type {type} is not a membership request"),
    };

    /// <summary>
    /// Joins through <see cref="ClusterOptions.Join"/>: asks the seed to add this node (it answers with
    /// the new, transitional membership), retrying while another change runs. Returns once this node is
    /// a member; its partitions then stream in while it already coordinates client requests.
    /// </summary>
    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        if (Options.Join is not { } seed)
        {
            return;
        }

        var self = ClusterMembership.EncodeMember(new Member(Options.NodeId, PeerEndPoint, _clientEndPoint));
        var deadline = Time.GetTimestamp();
        var reason = "no answer";
        while (Time.GetElapsedTime(deadline) < TimeSpan.FromMinutes(2))
        {
            try
            {
                var reply = await AdminCall.CallAsync(seed, Options.NodeId, Options.ClusterName, FrameType.JoinRequest, self, Options.RequestTimeout * 5, cancellationToken).ConfigureAwait(false);
                if (reply.Type == FrameType.MembershipReply)
                {
                    var membership = ClusterMembership.Decode(reply.Payload);
                    Adopt(membership);
                    LogJoined(_logger, seed, membership.Epoch);
                    return;
                }

                reason = Encoding.UTF8.GetString(reply.Payload);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                reason = e.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), Time, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"could not join the cluster through {seed}: {reason}");
    }

    private PeerResponse OnGossip(byte[] payload)
    {
        if (payload.Length < 17 || payload.Length < 17 + payload[16])
        {
            throw new InvalidDataException("gossip frame is truncated");
        }

        var epoch = BinaryPrimitives.ReadInt64LittleEndian(payload);
        var name = Encoding.ASCII.GetString(payload, 17, payload[16]);
        _heard[name] = (epoch, BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8)));
        if (epoch > Epoch && Peers.FirstOrDefault(p => p.Name == name) is { } peer)
        {
            _ = FetchAsync(peer);
        }

        var reply = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(reply, Epoch);
        BinaryPrimitives.WriteInt64LittleEndian(reply.AsSpan(8), Volatile.Read(ref _ready));
        return new PeerResponse(FrameType.GossipReply, reply);
    }

    private Task<PeerResponse> OnJoinAsync(byte[] payload)
    {
        var member = ClusterMembership.DecodeMember(payload);
        var current = View.Membership;
        if (current.Contains(member.Name))
        {
            // A joined node that restarts asks again: it is told where the cluster stands.
            return Task.FromResult(new PeerResponse(FrameType.MembershipReply, current.Encode()));
        }

        if (Refuse(current) is { } refusal)
        {
            return Task.FromResult(refusal);
        }

        if (ChangeCoordinator(current) is { } coordinator)
        {
            return ForwardAsync(coordinator, FrameType.JoinRequest, payload);
        }

        return Task.FromResult(Propose(new ClusterMembership(current.Epoch + 1, [.. current.Members, member], current.Members)));
    }

    private Task<PeerResponse> OnLeaveAsync(string name)
    {
        var current = View.Membership;
        if (!current.Contains(name))
        {
            return Task.FromResult(Error($"ERR node '{name}' is not a member of epoch {current.Epoch}"));
        }

        if (Refuse(current) is { } refusal)
        {
            return Task.FromResult(refusal);
        }

        if (current.Members.Count - 1 < Options.Replicas)
        {
            return Task.FromResult(Error($"ERR cannot remove '{name}': N={Options.Replicas} replicas need at least {Options.Replicas} nodes"));
        }

        if (ChangeCoordinator(current) is { } coordinator)
        {
            return ForwardAsync(coordinator, FrameType.LeaveRequest, Encoding.ASCII.GetBytes(name));
        }

        return Task.FromResult(Propose(new ClusterMembership(current.Epoch + 1, current.Members.Where(m => m.Name != name), current.Members)));
    }

    /// <summary>
    /// One membership change at a time: every change is decided by one node, the first member by name
    /// that this node sees up, so two changes asked of two nodes at once cannot both take the next
    /// epoch (each would start a rebalance the other does not know of). Null when that node is this one.
    /// A forward goes only to a node whose name sorts lower, so forwards cannot loop.
    /// </summary>
    private PeerState? ChangeCoordinator(ClusterMembership current)
    {
        foreach (var member in current.Members)
        {
            if (member.Name == Options.NodeId)
            {
                return null;
            }

            if (Peers.FirstOrDefault(p => p.Name == member.Name) is { Suspected: false } peer)
            {
                return peer;
            }
        }

        return null;
    }

    private async Task<PeerResponse> ForwardAsync(PeerState coordinator, FrameType type, byte[] payload)
    {
        try
        {
            return await coordinator.Client.CallAsync(type, -1, payload, default, default, Options.RequestTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return Error($"ERR membership changes are decided by {coordinator.Name}, which did not answer ({e.Message}); retry");
        }
    }

    private PeerResponse? Refuse(ClusterMembership current) =>
        current.IsTransitional ? Error($"ERR a rebalance is in progress ({current}); retry when it ends")
        : !current.Contains(Options.NodeId) ? Error("ERR this node is not a member of the cluster")
        : null;

    private PeerResponse Propose(ClusterMembership next) =>
        Adopt(next) ? new PeerResponse(FrameType.MembershipReply, next.Encode()) : Error("ERR another membership change came first; retry");

    private static PeerResponse Error(string message) => new(FrameType.Error, Encoding.UTF8.GetBytes(message));

    [LoggerMessage(EventId = 47, Level = LogLevel.Information, Message = "Joined the cluster through {Seed} in epoch {Epoch}")]
    private static partial void LogJoined(ILogger logger, System.Net.IPEndPoint seed, long epoch);
}
