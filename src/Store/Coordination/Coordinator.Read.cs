using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

internal sealed partial class Coordinator
{
    /// <summary>
    /// Reads a key from its healthy replicas: the newest stored value (tombstones included, null when
    /// no replica has the key) once R answered, or the error reply's text. Stale replicas are repaired
    /// in the background once every replica asked has answered.
    /// </summary>
    public async Task<(string? Error, byte[]? Stored)> ReadAsync(byte[] key)
    {
        var quorum = new QuorumRead(Options.ReadQuorum, q => Repair(q, key));
        var placement = node.Placement;
        foreach (var target in placement.PreferenceList(placement.PartitionOf(key)))
        {
            if (target == node.Self)
            {
                quorum.Answer(target, node.Sessions.ReadStored(key), expected: false);
            }
            else if (node.IsHealthy(target))
            {
                quorum.Expect();
                _ = AskAsync(quorum, target, key);
            }
        }

        quorum.Sealed();
        await quorum.Quorum.ConfigureAwait(false);

        var (answers, newest) = quorum.Result();
        return answers >= quorum.Needed ? (null, newest) : ($"ERR quorum not reached: {answers} of {quorum.Needed} replicas answered", null);
    }

    private async Task AskAsync(QuorumRead quorum, int target, byte[] key)
    {
        try
        {
            var reply = await node.Peer(target)!.Client.CallAsync(FrameType.Read, -1, key, default, default, Options.RequestTimeout).ConfigureAwait(false);
            if (reply.Type == FrameType.Value && reply.Payload.Length >= 1)
            {
                var stored = reply.Payload[0] == 1 && reply.Payload.Length >= 1 + StoredValue.HeaderSize ? reply.Payload[1..] : null;
                quorum.Answer(target, stored, expected: true);
                return;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Counted as no answer.
        }

        quorum.Fail();
    }

    /// <summary>Read repair: every replica that answered with an older version, or without the key, is sent the newest.</summary>
    private void Repair(QuorumRead quorum, byte[] key)
    {
        var (_, newest) = quorum.Result();
        if (newest is null)
        {
            return;
        }

        foreach (var (target, stored) in quorum.Answers())
        {
            if (stored is not null && !StoredValue.IsNewer(newest, stored))
            {
                continue;
            }

            node.CountReadRepair();
            if (target == node.Self)
            {
                TryMergeHere(key, newest);
            }
            else
            {
                // A replica that does not take the repair now gets it from the next read.
                _ = TryWriteToAsync(target, key, newest);
            }
        }
    }
}
