using System.Diagnostics;

namespace DataPlane.Net.Epoll;

/// <summary>
/// The connect deadlines of one loop's pairs, kept by the loop itself (HAProxy's way): the loop sleeps in
/// <c>epoll_wait</c> no longer than the earliest deadline and times out what passed, so a connect costs
/// no timer, no registration and no thread hop. An intrusive list of the pairs connecting now: adding
/// and removing are O(1); the list is scanned only once its earliest deadline has passed (with one
/// connect timeout per listener that is about once per timeout), not on every wake-up. Loop thread only.
/// </summary>
internal sealed class ConnectDeadlines
{
    private EpollPair? _head;
    private long _earliest = long.MaxValue;

    /// <summary>Whether a connect is waiting.</summary>
    public bool IsEmpty => _head is null;

    /// <summary>Starts watching <paramref name="pair"/>'s <see cref="EpollPair.Deadline"/> (a Stopwatch timestamp).</summary>
    public void Add(EpollPair pair)
    {
        pair.DeadlinePrevious = null;
        pair.DeadlineNext = _head;
        if (_head is not null)
        {
            _head.DeadlinePrevious = pair;
        }

        _head = pair;
        pair.HasDeadline = true;
        _earliest = Math.Min(_earliest, pair.Deadline);
    }

    /// <summary>Stops watching <paramref name="pair"/> (its connect ended); a no-op when it is not watched.</summary>
    public void Remove(EpollPair pair)
    {
        if (!pair.HasDeadline)
        {
            return;
        }

        if (pair.DeadlinePrevious is { } previous)
        {
            previous.DeadlineNext = pair.DeadlineNext;
        }
        else
        {
            _head = pair.DeadlineNext;
        }

        if (pair.DeadlineNext is { } next)
        {
            next.DeadlinePrevious = pair.DeadlinePrevious;
        }

        pair.DeadlineNext = pair.DeadlinePrevious = null;
        pair.HasDeadline = false;
        if (_head is null)
        {
            _earliest = long.MaxValue;
        }
    }

    /// <summary>How long <c>epoll_wait</c> may sleep: until the earliest deadline (rounded up to a millisecond), or -1 for ever.</summary>
    public int WaitMilliseconds()
    {
        if (_head is null)
        {
            return -1;
        }

        return MillisecondsUntil(_earliest);
    }

    /// <summary>Milliseconds from now until <paramref name="timestamp"/> (a Stopwatch timestamp), rounded up; 0 when it passed.</summary>
    public static int MillisecondsUntil(long timestamp)
    {
        var left = timestamp - Stopwatch.GetTimestamp();
        if (left <= 0)
        {
            return 0;
        }

        var ms = ((left * 1000) + Stopwatch.Frequency - 1) / Stopwatch.Frequency;
        return (int)Math.Min(ms, int.MaxValue);
    }

    /// <summary>Ends every connect whose deadline passed with a timeout; the earliest deadline is recomputed on the way.</summary>
    public void Expire()
    {
        if (_head is null)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (now < _earliest)
        {
            return;
        }

        // Detached first, fired after: a timed-out connect's owner may start its next attempt (and add
        // the pair again) inline, while the list is being walked.
        EpollPair? expired = null;
        var earliest = long.MaxValue;
        for (var pair = _head; pair is not null;)
        {
            var next = pair.DeadlineNext;
            if (pair.Deadline <= now)
            {
                Remove(pair);
                pair.DeadlineNext = expired;
                expired = pair;
            }
            else
            {
                earliest = Math.Min(earliest, pair.Deadline);
            }

            pair = next;
        }

        _earliest = _head is null ? long.MaxValue : earliest;
        while (expired is not null)
        {
            var next = expired.DeadlineNext;
            expired.DeadlineNext = null;
            expired.OnConnectDeadline();
            expired = next;
        }
    }
}
