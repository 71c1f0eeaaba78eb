namespace DataPlane.Store.Protocol.Internode;

/// <summary>What an internode frame carries. Requests and their replies share the request id.</summary>
internal enum FrameType : byte
{
    /// <summary>Heartbeat; answered with <see cref="Pong"/>.</summary>
    Ping = 1,

    /// <summary>Apply a stored value if newer: [u32 key length][key][stored value]; answered with <see cref="Ack"/>.</summary>
    Write = 2,

    /// <summary>Read a stored value: [key]; answered with <see cref="Value"/>.</summary>
    Read = 3,

    /// <summary>Keep a write for a node that is down: [u8 name length][name][u32 key length][key][stored value]; answered with <see cref="Ack"/>.</summary>
    Hint = 4,

    /// <summary>Run a read-modify-write command here, as its key's first healthy replica: [RESP command]; answered with <see cref="Reply"/>.</summary>
    Execute = 5,

    /// <summary>Membership gossip: [u64 epoch][u64 ready epoch][u8 name length][name]; answered with <see cref="GossipReply"/>.</summary>
    Gossip = 20,

    /// <summary>Asks for the membership: empty; answered with <see cref="MembershipReply"/>.</summary>
    MembershipRequest = 21,

    /// <summary>Asks a current owner for a batch of partitions' records: see <c>TransferRequest</c>; answered with <see cref="TransferBatch"/>.</summary>
    TransferRequest = 22,

    /// <summary>A node asks to join: [member]; answered with <see cref="MembershipReply"/> or <see cref="Error"/>.</summary>
    JoinRequest = 23,

    /// <summary>Decommissions a node: [u8 name length][name] (empty: the node asked); answered with <see cref="MembershipReply"/> or <see cref="Error"/>.</summary>
    LeaveRequest = 24,

    /// <summary>Reply to <see cref="Ping"/>.</summary>
    Pong = 64,

    /// <summary>Reply to a write or a hint: [u8 merge outcome].</summary>
    Ack = 65,

    /// <summary>Reply to a read: [u8 found][stored value when found].</summary>
    Value = 66,

    /// <summary>Reply to <see cref="Execute"/>: [RESP reply].</summary>
    Reply = 67,

    /// <summary>The request failed: [UTF-8 message].</summary>
    Error = 68,

    /// <summary>Reply to <see cref="Gossip"/>: [u64 epoch][u64 ready epoch].</summary>
    GossipReply = 90,

    /// <summary>Reply carrying a membership (see <c>Membership.Encode</c>).</summary>
    MembershipReply = 91,

    /// <summary>Reply to <see cref="TransferRequest"/>: [i64 next cursor][u8 done][u32 count]([u32 key length][key][u32 stored length][stored])*.</summary>
    TransferBatch = 92,
}
