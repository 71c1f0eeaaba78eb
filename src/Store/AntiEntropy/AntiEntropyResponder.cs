using System.Numerics;
using System.Text;
using DataPlane.Store.Coordination;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// Answers a peer's anti-entropy requests (<see cref="FrameType.AeGroups"/> to <see cref="FrameType.AePush"/>).
/// A request is checked on the connection's read loop (a malformed one throws and closes the
/// connection, nothing of it applied), then answered off that loop, one request at a time per node:
/// a leaf listing scans the log, and the replication writes behind it on the same connection must
/// not wait for that, nor should anti-entropy take more than one core from client traffic.
/// <para>
/// One replica at a time repairs this node: an exchange that finds differences holds a lease from its
/// <see cref="FrameType.AeGroups"/> to its <see cref="FrameType.AeDone"/> (or until it has been
/// silent for <paramref name="leaseTimeout"/>), and another replica's <see cref="FrameType.AeGroups"/>
/// meanwhile is answered <see cref="FrameType.AeBusy"/>. Without it, two replicas that found the same
/// keys missing here would both send them; with it, the second finds them present next round.
/// </para>
/// </summary>
internal sealed class AntiEntropyResponder(Replica.Replica replica, SessionPool sessions, AntiEntropyStats stats, TimeProvider time, TimeSpan leaseTimeout) : IAsyncDisposable
{
    /// <summary>A leaf listing stops adding leaves past this many bytes; the peer asks for the rest next round.</summary>
    public const int DigestReplyBudget = 8 * 1024 * 1024;

    /// <summary>A pull reply stops adding values past this many bytes (at least one value always goes).</summary>
    public const int ValueReplyBudget = 4 * 1024 * 1024;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _leaseLock = new();
    private FrameOutbox? _leaseHolder;
    private long _leaseTouched;

    public static bool Handles(FrameType type) => type is >= FrameType.AeGroups and <= FrameType.AeDone;

    /// <summary>Checks a request and starts answering it into <paramref name="outbox"/>.</summary>
    /// <exception cref="InvalidDataException">The request is malformed.</exception>
    public void Dispatch(FrameType type, ulong id, ReadOnlySpan<byte> payload, FrameOutbox outbox)
    {
        var forest = replica.Digests ?? throw new InvalidDataException("anti-entropy request to a node that keeps no trees");
        Validate(type, payload, forest);
        stats.Frame(payload.Length);
        if (type == FrameType.AeDone)
        {
            Release(outbox);
            Reply(FrameType.AeDoneAck, id, outbox);
        }
        else if (!TryLease(outbox, renew: type != FrameType.AeGroups))
        {
            Reply(FrameType.AeBusy, id, outbox);
        }
        else
        {
            _ = AnswerAsync(type, id, payload.ToArray(), outbox);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        _gate.Dispose();
        _stopping.Dispose();
    }

    private void Reply(FrameType type, ulong id, FrameOutbox outbox)
    {
        stats.Frame(0);
        outbox.Write(type, id, default);
    }

    /// <summary>
    /// Takes (or, for a request after the first of an exchange, renews) the lease for the connection
    /// <paramref name="holder"/>. A request after the first that finds the lease lost still goes
    /// ahead: what it sends merges by last writer wins anyway, the lease only saves duplicates.
    /// </summary>
    private bool TryLease(FrameOutbox holder, bool renew)
    {
        lock (_leaseLock)
        {
            var now = time.GetTimestamp();
            var free = _leaseHolder is null || _leaseHolder == holder || time.GetElapsedTime(_leaseTouched, now) > leaseTimeout;
            if (free)
            {
                _leaseHolder = holder;
                _leaseTouched = now;
            }

            return free || renew;
        }
    }

    private void Release(FrameOutbox holder)
    {
        lock (_leaseLock)
        {
            if (_leaseHolder == holder)
            {
                _leaseHolder = null;
            }
        }
    }

    private static void Validate(FrameType type, ReadOnlySpan<byte> payload, MerkleForest forest)
    {
        var reader = new WireReader(payload);
        switch (type)
        {
            case FrameType.AeGroups:
                for (var n = reader.Count(20); n > 0; n--)
                {
                    var first = WireReader.Below(reader.U32(), forest.Partitions, "partition");
                    var mask = reader.U64();
                    reader.U64();
                    if (first % 64 != 0 || (forest.Partitions - first < 64 && mask >> (forest.Partitions - first) != 0))
                    {
                        throw new InvalidDataException("anti-entropy group is misaligned or runs past the partitions");
                    }
                }

                break;
            case FrameType.AeBranches:
                for (var n = reader.Count(4 + (8 * MerkleForest.Fanout)); n > 0; n--)
                {
                    WireReader.Below(reader.U32(), forest.Partitions, "partition");
                    for (var b = 0; b < MerkleForest.Fanout; b++)
                    {
                        reader.U64();
                    }
                }

                break;
            case FrameType.AeDigests:
                for (var n = reader.Count(4); n > 0; n--)
                {
                    WireReader.Below(reader.U32(), forest.Partitions * MerkleForest.LeavesPerPartition, "leaf");
                }

                break;
            case FrameType.AePull:
                for (var n = reader.Count(4); n > 0; n--)
                {
                    reader.Sized();
                }

                break;
            case FrameType.AeDone:
                break;
            default:
                for (var n = reader.Count(8 + StoredValue.HeaderSize); n > 0; n--)
                {
                    reader.Sized();
                    if (!StoredValue.IsWellFormed(reader.Sized()))
                    {
                        throw new InvalidDataException("anti-entropy push carries a value shorter than its header");
                    }
                }

                break;
        }

        reader.ExpectEnd();
    }

    private async Task AnswerAsync(FrameType type, ulong id, byte[] request, FrameOutbox outbox)
    {
        await Task.Yield(); // Off the connection's read loop before any work.
        try
        {
            await _gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        var session = sessions.Rent();
        try
        {
            var reply = new WireWriter();
            var replyType = type switch
            {
                FrameType.AeGroups => Groups(request, reply),
                FrameType.AeBranches => Branches(request, reply),
                FrameType.AeDigests => Digests(request, reply, session),
                FrameType.AePull => Pull(request, reply, session),
                _ => Push(request, reply, session),
            };
            if (type == FrameType.AeGroups && reply.Length == 4)
            {
                Release(outbox); // Nothing differs: the exchange ends here.
            }

            stats.Frame(reply.Length);
            outbox.Write(replyType, id, reply.Written.Span);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            outbox.Write(FrameType.Error, id, Encoding.UTF8.GetBytes(e.Message));
        }
        finally
        {
            sessions.Return(session);
            _gate.Release();
        }
    }

    private FrameType Groups(byte[] request, WireWriter reply)
    {
        var forest = replica.Digests!;
        var reader = new WireReader(request);
        var at = reply.ReserveCount();
        var differing = 0;
        Span<ulong> roots = stackalloc ulong[64];
        for (var n = reader.Count(20); n > 0; n--)
        {
            var first = (int)reader.U32();
            var mask = reader.U64();
            var theirs = reader.U64();
            var count = 0;
            for (var bits = mask; bits != 0; bits &= bits - 1)
            {
                roots[count++] = forest.Root(first + BitOperations.TrailingZeroCount(bits));
            }

            if (MerkleForest.HashOf(roots[..count]) != theirs)
            {
                differing++;
                reply.U32((uint)first);
                reply.U64(mask);
                foreach (var root in roots[..count])
                {
                    reply.U64(root);
                }
            }
        }

        reply.PatchCount(at, differing);
        return FrameType.AeGroupRoots;
    }

    private FrameType Branches(byte[] request, WireWriter reply)
    {
        var forest = replica.Digests!;
        var reader = new WireReader(request);
        var at = reply.ReserveCount();
        var differing = 0;
        Span<ulong> mine = stackalloc ulong[MerkleForest.Fanout];
        Span<ulong> leaves = stackalloc ulong[MerkleForest.Fanout];
        for (var n = reader.Count(4 + (8 * MerkleForest.Fanout)); n > 0; n--)
        {
            var partition = (int)reader.U32();
            forest.Branches(partition, mine);
            for (var b = 0; b < MerkleForest.Fanout; b++)
            {
                if (reader.U64() != mine[b])
                {
                    differing++;
                    reply.U32((uint)partition);
                    reply.U8((byte)b);
                    forest.Leaves(partition, b, leaves);
                    foreach (var leaf in leaves)
                    {
                        reply.U64(leaf);
                    }
                }
            }
        }

        reply.PatchCount(at, differing);
        return FrameType.AeBranchLeaves;
    }

    private FrameType Digests(byte[] request, WireWriter reply, ReplicaSession session)
    {
        var reader = new WireReader(request);
        var leaves = new List<int>();
        for (var n = reader.Count(4); n > 0; n--)
        {
            leaves.Add((int)reader.U32());
        }

        var found = LeafScan.Collect(replica, session, leaves, stats, _stopping.Token);
        var at = reply.ReserveCount();
        var included = 0;
        foreach (var leaf in leaves)
        {
            if (reply.Length > DigestReplyBudget)
            {
                break;
            }

            if (!found.Remove(leaf, out var keys))
            {
                continue; // Named twice.
            }

            included++;
            reply.U32((uint)leaf);
            reply.U32((uint)keys.Count);
            foreach (var (key, version) in keys)
            {
                reply.Sized(key);
                reply.I64(version.Timestamp);
                reply.I32(version.NodeId);
            }
        }

        reply.PatchCount(at, included);
        return FrameType.AeDigestList;
    }

    private FrameType Pull(byte[] request, WireWriter reply, ReplicaSession session)
    {
        var reader = new WireReader(request);
        var at = reply.ReserveCount();
        var sent = 0;
        for (var n = reader.Count(4); n > 0 && (sent == 0 || reply.Length < ValueReplyBudget); n--)
        {
            var key = reader.Sized();
            if (session.TryReadStored(key, out var stored))
            {
                sent++;
                reply.Sized(key);
                reply.Sized(stored);
            }
        }

        reply.PatchCount(at, sent);
        stats.Sent(sent);
        return FrameType.AePulled;
    }

    private FrameType Push(byte[] request, WireWriter reply, ReplicaSession session)
    {
        var reader = new WireReader(request);
        var applied = 0;
        var n = reader.Count(8 + StoredValue.HeaderSize);
        stats.Received(n);
        for (; n > 0; n--)
        {
            var key = reader.Sized();
            applied += session.Merge(key, reader.Sized()) == MergeOutcome.Applied ? 1 : 0;
        }

        reply.U32((uint)applied);
        return FrameType.AePushed;
    }
}
