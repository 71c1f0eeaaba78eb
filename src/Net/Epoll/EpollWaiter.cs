using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// What every event loop thread stands on: an epoll instance, the buffer <c>epoll_wait</c> fills, and
/// an eventfd other threads write to wake the loop (one write per round however many ask). Waking
/// after <see cref="Dispose"/> does nothing, so a late caller never writes into a descriptor number
/// that was closed and may already be another file's.
/// </summary>
internal sealed unsafe class EpollWaiter : IDisposable
{
    /// <summary>The tag the wake-up event carries; loops tag nothing else with it.</summary>
    public const ulong WakeData = ulong.MaxValue;

    private const int MaxEvents = 256;
    private readonly int _wake;
    private readonly byte* _events;
    private readonly Lock _closeGate = new();
    private int _wakeRequested;
    private bool _closed;

    /// <exception cref="IOException">The epoll instance or the eventfd cannot be made.</exception>
    public EpollWaiter()
    {
        Epoll = EpollNative.EpollCreate(EpollNative.EpollCloexec);
        if (Epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _wake = EpollNative.EventFd(0, EpollNative.EfdCloexec | EpollNative.EfdNonblock);
        if (_wake < 0 || EpollNative.AddEventFd(Epoll, _wake, WakeData) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            EpollNative.Close(Epoll);
            throw new IOException($"eventfd for an epoll loop failed: errno {errno}");
        }

        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EpollNative.EventSize));
    }

    /// <summary>The epoll instance.</summary>
    public int Epoll { get; }

    /// <summary>Wakes the loop (any thread); after <see cref="Dispose"/> it does nothing.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakeRequested, 1) != 0)
        {
            return;
        }

        lock (_closeGate)
        {
            if (!_closed)
            {
                ulong one = 1;
                EpollNative.Write(_wake, (byte*)&one, sizeof(ulong));
            }
        }
    }

    /// <summary>
    /// Takes the wake-up (loop thread), before the loop drains what it was woken for: anything queued
    /// from now on wakes it again.
    /// </summary>
    public void ClearWake()
    {
        ulong value;
        EpollNative.Read(_wake, (byte*)&value, sizeof(ulong));

        // Read first, then clear (a full fence, so the drain's loads come after it). A Wake between the
        // two finds the flag still set and writes nothing, but what it queued is drained next. Cleared
        // first, a Wake in between had its write consumed here and left the flag set: every later Wake
        // was then dropped and the loop slept with work queued.
        Interlocked.Exchange(ref _wakeRequested, 0);
    }

    /// <summary>Waits for events (loop thread); 0 when interrupted by a signal or timed out.</summary>
    /// <exception cref="IOException">epoll_wait failed otherwise.</exception>
    public int Wait(int timeoutMilliseconds)
    {
        var count = EpollNative.EpollWait(Epoll, _events, MaxEvents, timeoutMilliseconds);
        if (count >= 0)
        {
            return count;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EpollNative.Eintr ? 0 : throw new IOException($"epoll_wait failed: errno {errno}");
    }

    /// <summary>The tag and the event bits of the <paramref name="index"/>th event of the last wait.</summary>
    public (ulong Data, uint Events) Event(int index)
    {
        var ev = _events + (index * EpollNative.EventSize);
        return (*(ulong*)(ev + EpollNative.EventDataOffset), *(uint*)ev);
    }

    /// <summary>Closes the eventfd and the epoll instance (loop thread, after its last wait).</summary>
    public void Dispose()
    {
        lock (_closeGate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            EpollNative.Close(_wake);
            EpollNative.Close(Epoll);
        }

        NativeMemory.Free(_events);
    }
}
