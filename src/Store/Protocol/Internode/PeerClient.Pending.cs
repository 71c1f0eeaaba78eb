namespace DataPlane.Store.Protocol.Internode;

internal sealed partial class PeerClient
{
    /// <summary>
    /// The in-flight table: one slot per request the peer may hold (the in-flight limit), allocated
    /// once. A request id is the slot's index in the low 32 bits and its generation in the high 32, so
    /// a late reply to a slot since reused is recognised and dropped. A slot's <see cref="Slot.State"/>
    /// (generation * 2 + 1 while in flight) is claimed with one compare-exchange by whichever comes
    /// first: the reply, the sweep's timeout, or the connection's loss.
    /// </summary>
    private struct Slot
    {
        public long State;
        public IPeerReplyHandler? Handler;
        public int Token;
        public long SentAt;
        public long Deadline;
        public long SlowAt;
    }

    /// <summary><see cref="TryRentSlot"/>'s index when the request waits in the queue.</summary>
    private const int Queued = -1;

    /// <summary><see cref="TryRentSlot"/>'s index when there is no connection, and nothing was queued.</summary>
    private const int Disconnected = -2;

    private readonly Slot[] _slots;
    private readonly int[] _free;
    private readonly Lock _slotLock = new();
    private readonly WaitingQueue _waiting = new();
    private int _freeCount;
    private int _used;
    private long _latency;

    /// <summary>A smoothed round-trip time of this peer's replies (an EWMA with weight 1/8, as TCP's SRTT).</summary>
    public TimeSpan Latency => _time.GetElapsedTime(0, Volatile.Read(ref _latency));

    /// <summary>
    /// Takes a free slot, or, when every slot is taken, queues the request to be sent from the first
    /// slot that comes free (<see cref="ReturnSlot"/>) or failed at its deadline by the sweep; one lock,
    /// so that a slot freed meanwhile cannot be missed. The queue is bounded by time, not length: a
    /// bound on its length failed writes to a replica that was only descheduled for a moment, and
    /// the hints they left cost more than waiting.
    /// </summary>
    /// <returns>True with a slot's <paramref name="index"/>; false with <see cref="Queued"/> when the request was queued, with <see cref="Disconnected"/> when the connection is gone (checked under the lock that <see cref="FailPending"/> empties the queue under, after the connection is cleared, so that nothing is queued after it).</returns>
    private bool TryRentSlot(FrameType type, int keyLength, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2, ReadOnlySpan<byte> part3, TimeSpan timeout, TimeSpan slowAfter, IPeerReplyHandler handler, int token, out int index)
    {
        lock (_slotLock)
        {
            if (_freeCount > 0)
            {
                index = TakeFreeSlot();
                return true;
            }

            if (Volatile.Read(ref _connection) is null)
            {
                index = Disconnected;
                return false;
            }

            var now = _time.GetTimestamp();
            _waiting.Enqueue(new WaitingRequest(type, keyLength, part1, part2, part3, now + Ticks(timeout), slowAfter > TimeSpan.Zero ? now + Ticks(slowAfter) : 0, handler, token));
            index = Queued;
            return false;
        }
    }

    /// <summary>Takes a free slot; the caller holds the slot lock and saw one free.</summary>
    private int TakeFreeSlot()
    {
        var index = _free[--_freeCount];
        _used = Math.Max(_used, index + 1);
        return index;
    }

    /// <summary>
    /// A slot came free: it carries the oldest waiting request, if any, sent from this thread (a loop's
    /// reply joins the loop's round). No handler is called here (the caller may hold an operation's
    /// lock): while the connection is down, or when it no longer takes the request, the request stays
    /// queued, and the connection's end fails every waiting request (<see cref="FailPending"/>).
    /// </summary>
    private void ReturnSlot(int index)
    {
        WaitingRequest next;
        Connection? connection;
        lock (_slotLock)
        {
            connection = Volatile.Read(ref _connection);
            if (connection is null || !_waiting.TryDequeue(out next))
            {
                _free[_freeCount++] = index;
                return;
            }
        }

        var id = Arm(index, next.Handler, next.Token, _time.GetTimestamp(), next.Deadline, next.SlowAt);
        if (connection.Outbox.Write(next.Type, id, next.KeyLength, next.Payload, default, default))
        {
            next.Release();
            return;
        }

        if (TryClaimSlot(id, out _, out _, out _))
        {
            lock (_slotLock)
            {
                _waiting.PushFront(next);
                _free[_freeCount++] = index;
            }

            return;
        }

        // Claimed meanwhile by the connection's loss or the sweep, whose handler call saw it fail.
        next.Release();
    }

    /// <summary>
    /// Fails the waiting requests whose deadline passed (or all of them), and tells the handlers of those that
    /// became slow while waiting (a read then asks another replica); handlers are called outside the lock.
    /// </summary>
    private void ExpireWaiting(long now, bool all)
    {
        List<WaitingRequest>? expired = null;
        List<WaitingRequest>? slow = null;
        lock (_slotLock)
        {
            _waiting.RemoveWhere(now, all, ref expired, ref slow);
        }

        try
        {
            foreach (var request in slow ?? [])
            {
                request.Handler.OnSlow(request.Token);
            }
        }
        finally
        {
            // Out of the queue now: each is failed even when a handler before it threw (the loop that swept
            // them catches that and drops the connection, which no longer sees these).
            FailAll(expired, all ? PeerFailure.Unavailable : PeerFailure.Timeout);
        }
    }

    private static void FailAll(List<WaitingRequest>? expired, PeerFailure failure)
    {
        if (expired is null)
        {
            return;
        }

        List<Exception>? errors = null;
        foreach (var request in expired)
        {
            request.Release();
            try
            {
                request.Handler.OnFailure(request.Token, failure);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                (errors ??= []).Add(e);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException(errors);
        }
    }

    /// <summary>
    /// Sends waiting requests from slots that are free while the connection is up. A slot normally carries the
    /// oldest waiting request as it comes free (<see cref="ReturnSlot"/>); one put back after a send that the
    /// closing connection refused waits for this instead, at most a sweep's interval.
    /// </summary>
    private void SendWaiting()
    {
        int count;
        lock (_slotLock)
        {
            count = Volatile.Read(ref _connection) is null ? 0 : Math.Min(_freeCount, _waiting.Count);
        }

        for (var i = 0; i < count; i++)
        {
            int index;
            lock (_slotLock)
            {
                if (_freeCount == 0)
                {
                    return;
                }

                index = TakeFreeSlot();
            }

            ReturnSlot(index);
        }
    }

    private void FailWaiting() => ExpireWaiting(0, all: true);

    /// <summary>Fills a rented slot and marks it in flight; returns the request id.</summary>
    private ulong Arm(int index, IPeerReplyHandler handler, int token, long sentAt, long deadline, long slowAt)
    {
        ref var slot = ref _slots[index];
        slot.Handler = handler;
        slot.Token = token;
        slot.SentAt = sentAt;
        slot.Deadline = deadline;
        slot.SlowAt = slowAt;
        var generation = (uint)(Volatile.Read(ref slot.State) >> 1);
        Volatile.Write(ref slot.State, ((long)generation << 1) | 1);
        return ((ulong)generation << 32) | (uint)index;
    }

    /// <summary>Claims the slot of request <paramref name="id"/> if it is still in flight; the slot is free again on return (or carries a waiting request).</summary>
    private bool TryClaim(ulong id, out IPeerReplyHandler handler, out int token, out long sentAt)
    {
        if (!TryClaimSlot(id, out handler, out token, out sentAt))
        {
            return false;
        }

        ReturnSlot((int)(uint)id);
        return true;
    }

    /// <summary>As <see cref="TryClaim"/>, with the slot left to the caller to return.</summary>
    private bool TryClaimSlot(ulong id, out IPeerReplyHandler handler, out int token, out long sentAt)
    {
        var index = (int)(uint)id;
        handler = null!;
        token = 0;
        sentAt = 0;
        if (index >= _slots.Length)
        {
            return false;
        }

        ref var slot = ref _slots[index];
        var generation = (long)(id >> 32);
        var inFlight = (generation << 1) | 1;
        var next = (long)(uint)(generation + 1) << 1;
        if (Interlocked.CompareExchange(ref slot.State, next, inFlight) != inFlight)
        {
            return false;
        }

        handler = slot.Handler!;
        token = slot.Token;
        sentAt = slot.SentAt;
        slot.Handler = null;
        return true;
    }

    private void CompleteReply(ulong id, FrameType type, ReadOnlySpan<byte> payload)
    {
        if (TryClaim(id, out var handler, out var token, out var sentAt))
        {
            // One reply in eight (by slot; slot 0, the one a quiet client uses, always) is timed: a clock
            // read cost a coordinator's loop about as much as the rest of the reply.
            if (((uint)id & 7) == 0)
            {
                var rtt = _time.GetTimestamp() - sentAt;
                var smoothed = Volatile.Read(ref _latency);
                Volatile.Write(ref _latency, smoothed + ((rtt - smoothed) / 8));
            }

            handler.OnReply(token, type, payload);
        }
    }

    /// <summary>
    /// Times out every request whose deadline passed, and tells the handlers of slow ones: every
    /// <see cref="SweepInterval"/>, from the loop that receives the replies (<see cref="PeerReceiver.Tick"/>)
    /// or, without one, from a timer.
    /// </summary>
    internal void Sweep()
    {
        var now = _time.GetTimestamp();
        ExpireWaiting(now, all: false);
        SendWaiting();
        var used = Volatile.Read(ref _used);
        for (var i = 0; i < used; i++)
        {
            ref var slot = ref _slots[i];
            var state = Volatile.Read(ref slot.State);
            if ((state & 1) == 0)
            {
                continue;
            }

            var id = ((ulong)(state >> 1) << 32) | (uint)i;
            if (slot.Deadline <= now)
            {
                if (TryClaim(id, out var handler, out var token, out _))
                {
                    handler.OnFailure(token, PeerFailure.Timeout);
                }
            }
            else if (slot.SlowAt != 0 && slot.SlowAt <= now)
            {
                slot.SlowAt = 0;
                var handler = slot.Handler;
                var token = slot.Token;
                // Only if the slot still holds the same request: a hint to a request since finished would be noise.
                if (handler is not null && Volatile.Read(ref slot.State) == state)
                {
                    handler.OnSlow(token);
                }
            }
        }
    }

    /// <summary>Fails every request in flight, and every one waiting for a slot: the connection that carried them is gone.</summary>
    private void FailPending()
    {
        FailWaiting();
        var used = Volatile.Read(ref _used);
        for (var i = 0; i < used; i++)
        {
            var state = Volatile.Read(ref _slots[i].State);
            if ((state & 1) != 0 && TryClaim(((ulong)(state >> 1) << 32) | (uint)i, out var handler, out var token, out _))
            {
                handler.OnFailure(token, PeerFailure.Unavailable);
            }
        }

        // A slot returned meanwhile may have put its request back in the queue (its send refused by the closed connection).
        FailWaiting();
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
