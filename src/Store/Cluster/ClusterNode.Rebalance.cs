using System.Buffers.Binary;
using DataPlane.Store.Membership;
using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Cluster;

/// <summary>
/// Online rebalancing. In a transitional epoch each node that gains partitions pulls them, batch by
/// batch, from a healthy current owner (one transfer per sender, the partitions it sends marked in a
/// bitmap), merging every record by last-writer-wins; all receivers together take no more than
/// <see cref="ClusterOptions.TransferBytesPerSecond"/>. Writes meanwhile reach both the old owners
/// (counting for the quorum) and the new ones. A transfer whose sender fails starts again from
/// another owner; a receiver that stops starts its transfers again when it is back, and until then
/// the epoch stays transitional, so the old owners keep the partitions. When every receiver has
/// reported its partitions whole, every node switches to the stable epoch; once every peer has seen
/// it, the old owners delete the copies they handed away.
/// </summary>
internal sealed partial class ClusterNode
{
    private const int TransferHeader = 20;

    /// <summary>Keys a node deletes per second at most after handing them away (a quarter of a million keys in 12.5 s).</summary>
    private const long DropsPerSecond = 20_000;

    /// <summary>Keys per clean-up batch: a batch runs on a core unpaced, so a small one keeps that stretch short (about a millisecond).</summary>
    private const int DropBatchKeys = 100;

    private async Task ReceiveAsync(ClusterView view, CancellationToken cancellationToken)
    {
        var epoch = view.Membership.Epoch;
        try
        {
            // Pulling before every writer knows the epoch could miss a write made in place behind the scan.
            var since = Time.GetTimestamp();
            while (!EveryoneKnows(epoch, since))
            {
                if (Epoch != epoch)
                {
                    return;
                }

                await Task.Delay(Options.HeartbeatInterval, Time, cancellationToken).ConfigureAwait(false);
            }

            var remaining = new HashSet<int>(view.Gained);
            var attempt = 0;
            while (remaining.Count > 0)
            {
                if (Epoch != epoch)
                {
                    return;
                }

                var groups = new Dictionary<int, List<int>>();
                foreach (var partition in remaining)
                {
                    if (PickSender(view, partition, attempt) is var sender and >= 0)
                    {
                        (groups.TryGetValue(sender, out var list) ? list : groups[sender] = []).Add(partition);
                    }
                }

                // The receivers share the rate, so a leave (every remaining node receives) costs clients what a join does.
                var pacer = new TransferPacer(Time, Math.Max(1, Options.TransferBytesPerSecond / Math.Max(1, view.Receivers.Count)));
                var pulls = groups.Select(g => (g.Value, Pull: PullAsync(epoch, Peer(g.Key)!, g.Value, pacer, cancellationToken))).ToList();
                await Task.WhenAll(pulls.Select(p => p.Pull)).ConfigureAwait(false);
                var failed = groups.Count == 0;
                foreach (var (partitions, pull) in pulls)
                {
                    if (pull.Result)
                    {
                        remaining.ExceptWith(partitions);
                    }
                    else
                    {
                        failed = true;
                        Rebalance.Restarted();
                    }
                }

                if (failed && remaining.Count > 0)
                {
                    attempt++;
                    await Task.Delay(Options.HeartbeatInterval, Time, cancellationToken).ConfigureAwait(false);
                }
            }

            if (Epoch == epoch)
            {
                Volatile.Write(ref _ready, epoch);
                LogReceived(_logger, view.Gained.Length, epoch);
                await GossipRoundAsync().ConfigureAwait(false);
                TrySettle();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the epoch stays transitional and this node starts its transfers again when back.
        }
    }

    /// <summary>A healthy current owner of the partition, rotating by partition (to spread the load) and by attempt (to replace a sender that failed).</summary>
    private int PickSender(ClusterView view, int partition, int attempt)
    {
        var owners = view.Current.PreferenceList(partition);
        for (var i = 0; i < owners.Length; i++)
        {
            var owner = owners[(partition + attempt + i) % owners.Length];
            if (owner != Self && IsHealthy(owner))
            {
                return owner;
            }
        }

        return -1;
    }

    /// <summary>Streams some partitions from one sender; true once the sender's scan reached its log's tail and every batch was merged.</summary>
    private async Task<bool> PullAsync(long epoch, PeerState sender, List<int> partitions, TransferPacer pacer, CancellationToken cancellationToken)
    {
        var request = new byte[TransferHeader + ((Options.Partitions + 7) / 8)];
        BinaryPrimitives.WriteInt64LittleEndian(request, epoch);
        BinaryPrimitives.WriteInt32LittleEndian(request.AsSpan(16), Options.TransferBatchKeys);
        foreach (var p in partitions)
        {
            request[TransferHeader + (p >> 3)] |= (byte)(1 << (p & 7));
        }

        var timeout = Options.RequestTimeout * 5;
        Rebalance.Started();
        try
        {
            while (true)
            {
                if (Epoch != epoch)
                {
                    return false;
                }

                var reply = await sender.Client.CallAsync(FrameType.TransferRequest, -1, request, default, default, timeout).ConfigureAwait(false);
                if (reply.Type != FrameType.TransferBatch)
                {
                    LogTransferFailed(_logger, sender.Name, System.Text.Encoding.UTF8.GetString(reply.Payload));
                    return false;
                }

                // The reply completes on the peer connection's receive loop: merging there would hold up every other reply on it.
                await Task.Yield();
                var (next, done, batchBytes) = MergeBatch(reply.Payload);
                await pacer.PaceAsync(batchBytes, cancellationToken).ConfigureAwait(false);

                if (done)
                {
                    Rebalance.Completed(partitions.Count);
                    return true;
                }

                BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(8), next);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException)
        {
            LogTransferFailed(_logger, sender.Name, e.Message);
            return false;
        }
        finally
        {
            Rebalance.Ended();
        }
    }

    private (long Next, bool Done, long Bytes) MergeBatch(byte[] payload)
    {
        if (payload.Length < 13)
        {
            throw new InvalidDataException("transfer batch is truncated");
        }

        var next = BinaryPrimitives.ReadInt64LittleEndian(payload);
        var done = payload[8] != 0;
        var count = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(9));
        var at = 13;
        long bytes = 0;
        var session = Sessions.Rent();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var key = Slice(payload, ref at);
                var stored = Slice(payload, ref at);
                if (stored.Length < DataPlane.Store.Replica.StoredValue.HeaderSize)
                {
                    throw new InvalidDataException("transfer batch holds a malformed value");
                }

                session.Merge(key, stored);
                bytes += key.Length + stored.Length;
            }
        }
        finally
        {
            Sessions.Return(session);
        }

        Rebalance.Received(count, bytes);
        return (next, done, bytes);
    }

    private static ReadOnlySpan<byte> Slice(byte[] payload, ref int at)
    {
        if (payload.Length - at < 4)
        {
            throw new InvalidDataException("transfer batch is truncated");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(at));
        if (length > (uint)(payload.Length - at - 4))
        {
            throw new InvalidDataException("transfer batch is truncated");
        }

        var slice = payload.AsSpan(at + 4, (int)length);
        at += 4 + (int)length;
        return slice;
    }

    /// <summary>A sender's side: the next batch of the partitions asked for, each key's current value read through a session.</summary>
    private PeerResponse ServeTransfer(byte[] payload)
    {
        var bitmapLength = (Options.Partitions + 7) / 8;
        if (payload.Length != TransferHeader + bitmapLength)
        {
            throw new InvalidDataException($"transfer request of {payload.Length} bytes does not fit Q={Options.Partitions} partitions");
        }

        var cursor = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8));
        var maxKeys = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(16)), 1, 100_000);
        var wanted = new bool[Options.Partitions];
        for (var p = 0; p < wanted.Length; p++)
        {
            wanted[p] = (payload[TransferHeader + (p >> 3)] & (1 << (p & 7))) != 0;
        }

        var keys = new List<(byte[] Key, long Address)>();
        var (next, done) = PartitionScan.Collect(Replica, View.Current, wanted, cursor, maxKeys, keys);
        var budget = Options.TransferBatchBytes;
        var reply = new System.Buffers.ArrayBufferWriter<byte>(budget + 1024);
        reply.Advance(13);
        var count = 0;
        var session = Sessions.Rent();
        try
        {
            foreach (var (key, address) in keys)
            {
                // Tombstones travel too, so that a delete is not undone by an older copy elsewhere.
                if (!session.TryReadStored(key, out var stored))
                {
                    continue;
                }

                if (count > 0 && reply.WrittenCount + 8 + key.Length + stored.Length > budget)
                {
                    // Full: the next batch scans again from this key (keys already sent may come twice; merging is idempotent).
                    (next, done) = (address, false);
                    break;
                }

                var span = reply.GetSpan(8 + key.Length + stored.Length);
                BinaryPrimitives.WriteInt32LittleEndian(span, key.Length);
                key.CopyTo(span[4..]);
                BinaryPrimitives.WriteInt32LittleEndian(span[(4 + key.Length)..], stored.Length);
                stored.CopyTo(span[(8 + key.Length)..]);
                reply.Advance(8 + key.Length + stored.Length);
                count++;
            }
        }
        finally
        {
            Sessions.Return(session);
        }

        var bytes = reply.WrittenSpan.ToArray();
        // The head is written last: a batch cut short by its byte budget moves the cursor back.
        BinaryPrimitives.WriteInt64LittleEndian(bytes, next);
        bytes[8] = done ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(9), count);
        return new PeerResponse(FrameType.TransferBatch, bytes);
    }

    /// <summary>After a switch, once every peer that answers has seen it: deletes the keys of partitions this node no longer owns and stops copying writes to the old owners.</summary>
    private void TryCleanUp()
    {
        var epoch = Volatile.Read(ref _cleanupEpoch);
        var view = View;
        if (epoch == 0 && !view.Membership.IsTransitional && !view.Membership.Contains(Options.NodeId) && Replica.KeyCount > 0)
        {
            // A node that left still gets the writes of peers that have not finished their own clean-up: it deletes those too.
            epoch = view.Membership.Epoch;
        }

        if (epoch == 0 || view.Membership.Epoch != epoch || !EveryoneKnows(epoch, 0) || Interlocked.Exchange(ref _cleaning, 1) != 0)
        {
            return;
        }

        var work = Task.Run(() => CleanUpAsync(view, epoch, _stopping.Token), CancellationToken.None);
        lock (_membershipLock)
        {
            _membershipWork.Add(work);
        }
    }

    /// <summary>
    /// Deletes the keys of the partitions this node handed away, batch by batch from a log cursor at
    /// <see cref="DropsPerSecond"/>: all at once, the three old owners of a join deleted a quarter of their
    /// keys each within 200 ms, on every core, and clients stalled for as long; at 50,000 keys/s in batches of
    /// 500 they still took most of both cores for half a second and the p99 after a quick join rose.
    /// </summary>
    private async Task CleanUpAsync(ClusterView view, long epoch, CancellationToken cancellationToken)
    {
        try
        {
            var current = view.Current;
            var handedAway = new bool[current.Partitions];
            for (var p = 0; p < handedAway.Length; p++)
            {
                handedAway[p] = !current.PreferenceList(p).Contains(Self);
            }

            var pacer = new TransferPacer(Time, DropsPerSecond);
            Func<ReadOnlySpan<byte>, bool> handedAwayNow = key => !OwnsNow(key);
            var keys = new List<(byte[] Key, long Address)>();
            // A node that hands nothing away (the joining one, or every remaining one after a leave) has nothing to scan for.
            var (cursor, done, dropped) = (0L, Array.IndexOf(handedAway, true) < 0, 0L);
            while (!done)
            {
                // A newer epoch may give some of these partitions back (a leave right after a join): its own
                // clean-up, with its own placement, takes over, and no key this node owns now is dropped.
                var latest = View;
                if (latest.Membership.Epoch != epoch)
                {
                    return;
                }

                keys.Clear();
                (cursor, done) = PartitionScan.Collect(Replica, current, handedAway, cursor, DropBatchKeys, keys);
                var batch = 0;
                var session = Sessions.Rent();
                try
                {
                    foreach (var (key, _) in keys)
                    {
                        batch += session.DropIf(key, handedAwayNow) ? 1 : 0;
                    }
                }
                finally
                {
                    Sessions.Return(session);
                }

                Rebalance.Dropped(batch);
                dropped += batch;
                await pacer.PaceAsync(keys.Count, cancellationToken).ConfigureAwait(false);
                if (keys.Count == 0)
                {
                    // A stretch of the log without a key to drop costs no pacing: let other work run between stretches.
                    await Task.Yield();
                }
            }

            lock (_membershipLock)
            {
                if (_view == view)
                {
                    Volatile.Write(ref _view, view.WithoutExtra());
                }
            }

            Interlocked.CompareExchange(ref _cleanupEpoch, 0, epoch);
            LogCleanedUp(_logger, dropped, epoch);
        }
        catch (OperationCanceledException)
        {
            // Stopping: a restart finds the stable epoch in the membership file and cleans up again.
        }
        finally
        {
            Volatile.Write(ref _cleaning, 0);
        }
    }

    /// <summary>Whether the current view has this node own the key's partition, or receive it (a transitional view's extra owners are the new ones).</summary>
    private bool OwnsNow(ReadOnlySpan<byte> key)
    {
        var view = View;
        var partition = view.Current.PartitionOf(key);
        return view.Current.PreferenceList(partition).Contains(Self)
            || (view.Membership.IsTransitional && view.Extra is { } receiving && receiving.PreferenceList(partition).Contains(Self));
    }

    [LoggerMessage(EventId = 48, Level = LogLevel.Information, Message = "Received {Partitions} partitions for epoch {Epoch}")]
    private static partial void LogReceived(ILogger logger, int partitions, long epoch);

    [LoggerMessage(EventId = 49, Level = LogLevel.Warning, Message = "A transfer from {Peer} failed and starts again: {Reason}")]
    private static partial void LogTransferFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Deleted {Keys} keys handed to their new owners in epoch {Epoch}")]
    private static partial void LogCleanedUp(ILogger logger, long keys, long epoch);
}
