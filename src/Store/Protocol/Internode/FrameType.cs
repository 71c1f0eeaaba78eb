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

    /// <summary>Anti-entropy: compare groups of 64 partitions: [u32 count]{u32 first partition, u64 partition mask, u64 hash of their roots}; answered with <see cref="AeGroupRoots"/>.</summary>
    AeGroups = 10,

    /// <summary>Anti-entropy: [u32 count]{u32 partition, 8 x u64 branch hashes}; answered with <see cref="AeBranchLeaves"/>.</summary>
    AeBranches = 11,

    /// <summary>Anti-entropy: list the keys of some leaves: [u32 count]{u32 leaf index}; answered with <see cref="AeDigestList"/>.</summary>
    AeDigests = 12,

    /// <summary>Anti-entropy: send these keys' stored values: [u32 count]{u32 key length, key}; answered with <see cref="AePulled"/>.</summary>
    AePull = 13,

    /// <summary>Anti-entropy: merge these stored values: [u32 count]{u32 key length, key, u32 length, stored}; answered with <see cref="AePushed"/>.</summary>
    AePush = 14,

    /// <summary>Anti-entropy: the exchange that <see cref="AeGroups"/> began is over (releases the responder for other replicas); empty; answered with <see cref="AeDoneAck"/>.</summary>
    AeDone = 15,

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

    /// <summary>Reply to <see cref="AeGroups"/>, for each group whose hash differs: [u32 count]{u32 first partition, u64 mask, a u64 root per partition in the mask}.</summary>
    AeGroupRoots = 80,

    /// <summary>Reply to <see cref="AeBranches"/>, for each branch that differs: [u32 count]{u32 partition, u8 branch, 8 x u64 leaf hashes}.</summary>
    AeBranchLeaves = 81,

    /// <summary>Reply to <see cref="AeDigests"/>: [u32 count]{u32 leaf index, u32 keys, {u32 key length, key, i64 timestamp, i32 node}}; leaves past the size budget are left out.</summary>
    AeDigestList = 82,

    /// <summary>Reply to <see cref="AePull"/>: [u32 count]{u32 key length, key, u32 length, stored}; keys it lacks (or past the size budget) are left out.</summary>
    AePulled = 83,

    /// <summary>Reply to <see cref="AePush"/>: [u32 values applied].</summary>
    AePushed = 84,

    /// <summary>Reply to <see cref="AeDone"/>: empty.</summary>
    AeDoneAck = 85,

    /// <summary>Reply to <see cref="AeGroups"/>: another replica is repairing this node now; ask again next round. Empty.</summary>
    AeBusy = 86,

    /// <summary>The request failed: [UTF-8 message].</summary>
    Error = 68,

    /// <summary>Reply to <see cref="Gossip"/>: [u64 epoch][u64 ready epoch].</summary>
    GossipReply = 90,

    /// <summary>Reply carrying a membership (see <c>Membership.Encode</c>).</summary>
    MembershipReply = 91,

    /// <summary>Reply to <see cref="TransferRequest"/>: [i64 next cursor][u8 done][u32 count]([u32 key length][key][u32 stored length][stored])*.</summary>
    TransferBatch = 92,
}
