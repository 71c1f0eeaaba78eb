namespace DataPlane.Store.Protocol.Internode;

/// <summary>A peer's reply to one request: its frame type and payload.</summary>
internal readonly record struct PeerResponse(FrameType Type, byte[] Payload);
