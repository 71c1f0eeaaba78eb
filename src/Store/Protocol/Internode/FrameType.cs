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
}
