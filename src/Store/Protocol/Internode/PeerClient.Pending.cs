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

    private readonly Slot[] _slots;
    private readonly int[] _free;
    private readonly Lock _slotLock = new();
    private readonly Queue<TaskCompletionSource<int>> _slotWaiters = new();
    private int _freeCount;
    private int _used;
    private long _latency;

    /// <summary>A smoothed round-trip time of this peer's replies (an EWMA with weight 1/8, as TCP's SRTT).</summary>
    public TimeSpan Latency => _time.GetElapsedTime(0, Volatile.Read(ref _latency));

    private bool TryRentSlot(out int index)
    {
        lock (_slotLock)
        {
            if (_freeCount == 0)
            {
                index = -1;
                return false;
            }

            index = _free[--_freeCount];
            _used = Math.Max(_used, index + 1);
            return true;
        }
    }

    /// <summary>Back-pressure: waits for a slot to come free, at most <paramref name="timeout"/>; -1 when none did.</summary>
    private async Task<int> WaitForSlotAsync(TimeSpan timeout)
    {
        var waiter = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_slotLock)
        {
            if (_freeCount > 0)
            {
                var index = _free[--_freeCount];
                _used = Math.Max(_used, index + 1);
                return index;
            }

            _slotWaiters.Enqueue(waiter);
        }

        try
        {
            return await waiter.Task.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A slot handed over just as the wait timed out is used all the same.
            return waiter.TrySetCanceled() ? -1 : waiter.Task.Result;
        }
    }

    private void ReturnSlot(int index)
    {
        lock (_slotLock)
        {
            while (_slotWaiters.TryDequeue(out var waiter))
            {
                if (waiter.TrySetResult(index))
                {
                    return;
                }
            }

            _free[_freeCount++] = index;
        }
    }

    /// <summary>Fills a rented slot and marks it in flight; returns the request id.</summary>
    private ulong Arm(int index, IPeerReplyHandler handler, int token, TimeSpan timeout, TimeSpan slowAfter)
    {
        ref var slot = ref _slots[index];
        var now = _time.GetTimestamp();
        slot.Handler = handler;
        slot.Token = token;
        slot.SentAt = now;
        slot.Deadline = now + Ticks(timeout);
        slot.SlowAt = slowAfter > TimeSpan.Zero ? now + Ticks(slowAfter) : 0;
        var generation = (uint)(Volatile.Read(ref slot.State) >> 1);
        Volatile.Write(ref slot.State, ((long)generation << 1) | 1);
        return ((ulong)generation << 32) | (uint)index;
    }

    /// <summary>Claims the slot of request <paramref name="id"/> if it is still in flight; the slot is free again on return.</summary>
    private bool TryClaim(ulong id, out IPeerReplyHandler handler, out int token, out long sentAt)
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
        ReturnSlot(index);
        return true;
    }

    private void CompleteReply(ulong id, FrameType type, ReadOnlySpan<byte> payload)
    {
        if (TryClaim(id, out var handler, out var token, out var sentAt))
        {
            var rtt = _time.GetTimestamp() - sentAt;
            var smoothed = Volatile.Read(ref _latency);
            Volatile.Write(ref _latency, smoothed + ((rtt - smoothed) / 8));
            handler.OnReply(token, type, payload);
        }
    }

    /// <summary>Times out every request whose deadline passed, and tells the handlers of slow ones.</summary>
    private void Sweep()
    {
        var now = _time.GetTimestamp();
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

    /// <summary>Fails every request in flight: the connection that carried them is gone.</summary>
    private void FailPending()
    {
        var used = Volatile.Read(ref _used);
        for (var i = 0; i < used; i++)
        {
            var state = Volatile.Read(ref _slots[i].State);
            if ((state & 1) != 0 && TryClaim(((ulong)(state >> 1) << 32) | (uint)i, out var handler, out var token, out _))
            {
                handler.OnFailure(token, PeerFailure.Unavailable);
            }
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
