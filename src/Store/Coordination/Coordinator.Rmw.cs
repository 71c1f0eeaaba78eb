using System.Buffers.Binary;
using System.Text;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Coordination;

internal sealed partial class Coordinator
{
    /// <summary>
    /// A read-modify-write command (INCR, APPEND, SET NX, EXPIRE...): runs at the key's first healthy
    /// replica, here or forwarded there; returns the RESP reply.
    /// </summary>
    public async Task<byte[]> ExecuteAsync(byte[] key, byte[] command)
    {
        var placement = node.Placement;
        var first = -1;
        foreach (var target in placement.PreferenceList(placement.PartitionOf(key)))
        {
            if (node.IsHealthy(target))
            {
                first = target;
                break;
            }
        }

        if (first == node.Self)
        {
            return await ExecuteLocallyAsync(key, command).ConfigureAwait(false);
        }

        if (first < 0)
        {
            return RespReplies.Error("ERR quorum not reached: no replica of the key is reachable");
        }

        try
        {
            // Forced to yield: the rest of the client's pipeline must not run on the peer's receive loop.
            var reply = await node.Peer(first)!.Client.CallAsync(FrameType.Execute, key.Length, key, command, default, Options.RequestTimeout)
                .ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            return reply.Type == FrameType.Reply
                ? reply.Payload
                : RespReplies.Error($"ERR replica {placement.Nodes[first]} failed: {Encoding.UTF8.GetString(reply.Payload)}");
        }
        catch (PeerTimeoutException)
        {
            return RespReplies.Error($"ERR timed out after {Options.RequestTimeout.TotalMilliseconds:F0} ms waiting for replica {placement.Nodes[first]}");
        }
        catch (IOException e)
        {
            return RespReplies.Error($"ERR replica {placement.Nodes[first]} is unavailable: {e.Message}");
        }
    }

    /// <summary>A forwarded read-modify-write ([u32 key length][key][RESP command]) that a peer sent here as the key's first healthy replica.</summary>
    public Task<byte[]> ExecuteHereAsync(byte[] payload)
    {
        var keyLength = payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : uint.MaxValue;
        if (keyLength > (uint)(payload.Length - 4))
        {
            throw new InvalidDataException("internode execute payload is malformed");
        }

        return ExecuteLocallyAsync(payload[4..(4 + (int)keyLength)], payload[(4 + (int)keyLength)..]);
    }

    /// <summary>
    /// Brings the local copy up to the newest of a read quorum, runs the command on it (serialised with
    /// every other command run here), then replicates the resulting value; the reply is released only
    /// once W replicas hold it.
    /// </summary>
    private async Task<byte[]> ExecuteLocallyAsync(byte[] key, byte[] command)
    {
        var (error, newest) = await ReadAsync(key).ConfigureAwait(false);
        if (error is not null)
        {
            return RespReplies.Error(error);
        }

        if (newest is not null)
        {
            TryMergeHere(key, newest);
        }

        var reply = await executor.ExecuteAsync(command).ConfigureAwait(false);
        var stored = node.Sessions.ReadStored(key);
        if (stored is null || reply.Length == 0 || reply[0] == (byte)'-')
        {
            return reply;
        }

        var failed = await WriteAsync(key, stored, appliedHere: true).ConfigureAwait(false);
        return failed is null ? reply : RespReplies.Error(failed);
    }
}
