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
        FrameType.JoinRequest => Task.FromResult(OnJoin(ClusterMembership.DecodeMember(payload))),
        FrameType.LeaveRequest => Task.FromResult(OnLeave(payload.Length == 0 ? Options.NodeId : Encoding.ASCII.GetString(payload))),
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

    private PeerResponse OnJoin(Member member)
    {
        var current = View.Membership;
        if (current.Contains(member.Name))
        {
            // A joined node that restarts asks again: it is told where the cluster stands.
            return new PeerResponse(FrameType.MembershipReply, current.Encode());
        }

        if (Refuse(current) is { } refusal)
        {
            return refusal;
        }

        var next = new ClusterMembership(current.Epoch + 1, [.. current.Members, member], current.Members);
        return Propose(next);
    }

    private PeerResponse OnLeave(string name)
    {
        var current = View.Membership;
        if (!current.Contains(name))
        {
            return Error($"ERR node '{name}' is not a member of epoch {current.Epoch}");
        }

        if (Refuse(current) is { } refusal)
        {
            return refusal;
        }

        if (current.Members.Count - 1 < Options.Replicas)
        {
            return Error($"ERR cannot remove '{name}': N={Options.Replicas} replicas need at least {Options.Replicas} nodes");
        }

        return Propose(new ClusterMembership(current.Epoch + 1, current.Members.Where(m => m.Name != name), current.Members));
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
