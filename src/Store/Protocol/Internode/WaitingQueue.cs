namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The requests waiting for an in-flight slot of a peer, oldest first: a ring of structs that grows
/// when full and is reused afterwards, so a saturated peer costs no allocation per request. Not
/// thread-safe: <see cref="PeerClient"/> holds its slot lock around every call.
/// </summary>
internal sealed class WaitingQueue
{
    private WaitingRequest[] _items = new WaitingRequest[16];
    private int _head;
    private int _count;

    /// <summary>
    /// No request is due (slow or expired) before this: a sweep of a long queue (a hung peer's, at the write
    /// rate times the timeout) that finds nothing to do returns without looking at it.
    /// </summary>
    private long _nextDue = long.MaxValue;

    public int Count => _count;

    public void Enqueue(in WaitingRequest request)
    {
        _nextDue = Math.Min(_nextDue, Due(request));
        Grow();
        _items[(_head + _count) % _items.Length] = request;
        _count++;
    }

    /// <summary>Puts back the request just taken, so that it stays the oldest.</summary>
    public void PushFront(in WaitingRequest request)
    {
        _nextDue = Math.Min(_nextDue, Due(request));
        Grow();
        _head = (_head + _items.Length - 1) % _items.Length;
        _items[_head] = request;
        _count++;
    }

    public bool TryDequeue(out WaitingRequest request)
    {
        if (_count == 0)
        {
            request = default;
            return false;
        }

        request = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        _count--;
        return true;
    }

    /// <summary>
    /// Moves every request whose deadline is at or before <paramref name="now"/> (all of them with
    /// <paramref name="all"/>) into <paramref name="removed"/>, created when there is one; the rest
    /// keep their order, and those that became slow by <paramref name="now"/> go into
    /// <paramref name="slow"/> too, once (their <see cref="WaitingRequest.SlowAt"/> is cleared).
    /// Deadlines differ between request kinds, so the whole queue is looked at.
    /// </summary>
    public void RemoveWhere(long now, bool all, ref List<WaitingRequest>? removed, ref List<WaitingRequest>? slow)
    {
        if (!all && now < _nextDue)
        {
            return;
        }

        _nextDue = long.MaxValue;
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var at = (_head + i) % _items.Length;
            var request = _items[at];
            _items[at] = default;
            if (all || request.Deadline <= now)
            {
                (removed ??= []).Add(request);
                continue;
            }

            if (request.SlowAt != 0 && request.SlowAt <= now)
            {
                (slow ??= []).Add(request);
                request = request with { SlowAt = 0 };
            }

            _items[(_head + kept) % _items.Length] = request;
            _nextDue = Math.Min(_nextDue, Due(request));
            kept++;
        }

        _count = kept;
    }

    /// <summary>When a request next needs the sweep: when it becomes slow, or else at its deadline.</summary>
    private static long Due(in WaitingRequest request) => request.SlowAt != 0 ? Math.Min(request.SlowAt, request.Deadline) : request.Deadline;

    private void Grow()
    {
        if (_count < _items.Length)
        {
            return;
        }

        var larger = new WaitingRequest[_items.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _items[(_head + i) % _items.Length];
        }

        _items = larger;
        _head = 0;
    }
}
