using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Coordination;

/// <summary>The handler of a fire-and-forget request (a read repair): a replica that does not take it gets it from the next read.</summary>
internal sealed class IgnoredReply : IPeerReplyHandler
{
    public static readonly IgnoredReply Instance = new();

    public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload)
    {
        // Nothing waits for a repair.
    }

    public void OnFailure(int token, PeerFailure failure)
    {
        // Nothing waits for a repair.
    }

    public void OnSlow(int token)
    {
        // Nothing waits for a repair.
    }
}
