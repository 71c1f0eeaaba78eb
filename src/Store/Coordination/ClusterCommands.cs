using System.Buffers;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// Which client commands the coordinator runs across the cluster, and how. Each command's arguments
/// are copied before it starts, since the connection's buffer moves on; the task yields the whole reply.
/// </summary>
internal sealed class ClusterCommands(Coordinator coordinator, TimeProvider time, long maxValueLength)
{
    private const string TooLarge = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Starts a clustered command; false for commands this node answers itself (PING, INFO, CONFIG, DBSIZE...).</summary>
    public bool TryStart(CommandId id, RespRequest request, out ClusterReply reply)
    {
        if (id == CommandId.Get)
        {
            reply = new ClusterReply(coordinator.StartGet(request[1]));
            return true;
        }

        if (id == CommandId.Set && request.Count == 3 && request[2].Length <= maxValueLength)
        {
            reply = new ClusterReply(coordinator.StartSet(request[1], request[2]));
            return true;
        }

        if (id is not (CommandId.StrLen or CommandId.Ttl or CommandId.PTtl or CommandId.MGet or CommandId.Exists or CommandId.Del
            or CommandId.Set or CommandId.MSet or CommandId.SetEx or CommandId.PSetEx or CommandId.SetNx or CommandId.Incr or CommandId.IncrBy
            or CommandId.Decr or CommandId.DecrBy or CommandId.Append or CommandId.Expire or CommandId.PExpire or CommandId.Persist
            or CommandId.FlushDb or CommandId.FlushAll))
        {
            reply = default;
            return false;
        }

        reply = new ClusterReply(Start(id, request));
        return true;
    }

    private ValueTask<byte[]> Start(CommandId id, RespRequest request) =>
        id switch
        {
            CommandId.StrLen => new(ReadIntegerAsync(request[1].ToArray(), static (payload, _, _) => payload.Length)),
            CommandId.Ttl => new(ReadIntegerAsync(request[1].ToArray(), static (_, expires, now) => expires == 0 ? -1 : (Math.Max(0, expires - now) + 500) / 1000, missing: -2)),
            CommandId.PTtl => new(ReadIntegerAsync(request[1].ToArray(), static (_, expires, now) => expires == 0 ? -1 : Math.Max(0, expires - now), missing: -2)),
            CommandId.MGet => new(MGetAsync(Arguments(request, 1))),
            CommandId.Exists => new(CountAsync(Arguments(request, 1), delete: false)),
            CommandId.Del => new(CountAsync(Arguments(request, 1), delete: true)),
            CommandId.Set when request.Count == 3 => Done(RespReplies.Error(TooLarge)),
            CommandId.MSet => (request.Count - 1) % 2 == 0 ? new(SetAsync(Arguments(request, 1))) : Done(RespReplies.Error("ERR wrong number of arguments for 'mset' command")),
            CommandId.Set or CommandId.SetEx or CommandId.PSetEx or CommandId.SetNx or CommandId.Incr or CommandId.IncrBy or CommandId.Decr
                or CommandId.DecrBy or CommandId.Append or CommandId.Expire or CommandId.PExpire or CommandId.Persist
                => new(coordinator.ExecuteAsync(request[1].ToArray(), RespReplies.Command(request))),
            _ => Done(RespReplies.Error("ERR FLUSHDB and FLUSHALL are not supported by a cluster node")),
        };

    private static ValueTask<byte[]> Done(byte[] reply) => new(reply);

    private static byte[][] Arguments(RespRequest request, int from)
    {
        var args = new byte[request.Count - from][];
        for (var i = from; i < request.Count; i++)
        {
            args[i - from] = request[i].ToArray();
        }

        return args;
    }

    private async Task<byte[]> GetAsync(byte[] key)
    {
        var (error, stored) = await coordinator.ReadAsync(key).ConfigureAwait(false);
        return error is not null ? RespReplies.Error(error)
            : stored is not null && StoredValue.IsVisible(stored, NowMs) ? RespReplies.Bulk(StoredValue.Payload(stored))
            : RespReplies.Null;
    }

    private async Task<byte[]> ReadIntegerAsync(byte[] key, Func<ReadOnlySpan<byte>, long, long, long> measure, long missing = 0)
    {
        var (error, stored) = await coordinator.ReadAsync(key).ConfigureAwait(false);
        var now = NowMs;
        return error is not null ? RespReplies.Error(error)
            : stored is not null && StoredValue.IsVisible(stored, now) ? RespReplies.Integer(measure(StoredValue.Payload(stored), StoredValue.ExpiresAt(stored), now))
            : RespReplies.Integer(missing);
    }

    private async Task<byte[]> MGetAsync(byte[][] keys)
    {
        var reads = Array.ConvertAll(keys, key => coordinator.ReadAsync(key).AsTask());
        await Task.WhenAll(reads).ConfigureAwait(false);
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(System.Text.Encoding.ASCII.GetBytes($"*{keys.Length}\r\n"));
        var now = NowMs;
        foreach (var read in reads)
        {
            var (error, stored) = read.Result;
            if (error is not null)
            {
                return RespReplies.Error(error);
            }

            if (stored is not null && StoredValue.IsVisible(stored, now))
            {
                RespReplies.WriteBulk(writer, StoredValue.Payload(stored));
            }
            else
            {
                writer.Write(RespReplies.Null);
            }
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>EXISTS counts the keys a read quorum sees; DEL counts them too and writes a replicated tombstone for every key, seen or not.</summary>
    private async Task<byte[]> CountAsync(byte[][] keys, bool delete)
    {
        var counts = await Task.WhenAll(Array.ConvertAll(keys, key => CountOneAsync(key, delete))).ConfigureAwait(false);
        var total = 0L;
        foreach (var (error, count) in counts)
        {
            if (error is not null)
            {
                return RespReplies.Error(error);
            }

            total += count;
        }

        return RespReplies.Integer(total);
    }

    private async Task<(string? Error, int Count)> CountOneAsync(byte[] key, bool delete)
    {
        var (error, stored) = await coordinator.ReadAsync(key).ConfigureAwait(false);
        if (error is not null)
        {
            return (error, 0);
        }

        var visible = stored is not null && StoredValue.IsVisible(stored, NowMs) ? 1 : 0;
        if (delete)
        {
            // Whatever the read saw, as Cassandra's DELETE: a copy on a replica outside the read set (a write that
            // failed its quorum but reached one) would otherwise be the newest value a later read sees, and come back.
            error = await coordinator.WriteAsync(key, coordinator.NewStored(default, tombstone: true, 0)).ConfigureAwait(false);
        }

        return (error, visible);
    }

    /// <summary>MSET: a quorum write per key, all in parallel.</summary>
    private async Task<byte[]> SetAsync(byte[][] pairs)
    {
        for (var i = 1; i < pairs.Length; i += 2)
        {
            if (pairs[i].Length > maxValueLength)
            {
                return RespReplies.Error(TooLarge);
            }
        }

        var writes = new Task<string?>[pairs.Length / 2];
        for (var i = 0; i < writes.Length; i++)
        {
            writes[i] = coordinator.WriteAsync(pairs[2 * i], coordinator.NewStored(pairs[(2 * i) + 1], tombstone: false, 0)).AsTask();
        }

        foreach (var error in await Task.WhenAll(writes).ConfigureAwait(false))
        {
            if (error is not null)
            {
                return RespReplies.Error(error);
            }
        }

        return RespReplies.Ok;
    }
}
