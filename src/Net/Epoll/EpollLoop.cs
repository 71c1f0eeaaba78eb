using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// One event loop: a thread blocked in <c>epoll_wait</c> that runs the I/O of the pairs registered
/// with it, accepts on the listeners registered with it, and times out its pairs' connects. Other
/// threads reach it through a command queue and an eventfd (aborts, pauses). Nothing here blocks but
/// <c>epoll_wait</c>. Loops live as long as the process.
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEvents = 256;
    private const ulong WakeData = ulong.MaxValue;
    private readonly EpollTransport _transport;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte* _events;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly ConnectDeadlines _deadlines = new();
    private int _wakeRequested;

    public EpollLoop(EpollTransport transport, int index)
    {
        _transport = transport;
        Index = index;
        _epoll = EpollNative.EpollCreate(EpollNative.EpollCloexec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _wake = EpollNative.EventFd(0, EpollNative.EfdCloexec | EpollNative.EfdNonblock);
        if (_wake < 0 || EpollNative.Add(_epoll, _wake, WakeData) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            EpollNative.Close(_epoll);
            throw new IOException($"eventfd for the epoll loop failed: errno {errno}");
        }

        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EpollNative.EventSize));
        _thread = new Thread(Run) { IsBackground = true, Name = "epoll loop " + index };
        _thread.Start();
    }

    /// <summary>The loop's number in its transport.</summary>
    public int Index { get; }

    /// <summary>The epoll instance (listeners add and remove themselves from any thread).</summary>
    public int Epoll => _epoll;

    /// <summary>The connects this loop times out (loop thread only).</summary>
    public ConnectDeadlines Deadlines => _deadlines;

    /// <summary>Whether the calling thread is this loop's thread (its pairs' state may be touched directly).</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Registers <paramref name="fd"/> edge-triggered; events come back tagged with <paramref name="data"/>.</summary>
    public int Register(int fd, ulong data) =>
        EpollNative.Add(_epoll, fd, data) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Runs <paramref name="command"/> on the loop thread soon.</summary>
    public void Post(Command command)
    {
        _commands.Enqueue(command);
        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0)
        {
            ulong one = 1;
            EpollNative.Write(_wake, (byte*)&one, sizeof(ulong));
        }
    }

    private void Run()
    {
        while (true)
        {
            var count = EpollNative.EpollWait(_epoll, _events, MaxEvents, _deadlines.WaitMilliseconds());
            if (count < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eintr)
                {
                    continue;
                }

                throw new IOException($"epoll_wait failed: errno {errno}");
            }

            for (var i = 0; i < count; i++)
            {
                var ev = _events + (i * EpollNative.EventSize);
                var data = *(ulong*)(ev + EpollNative.EventDataOffset);
                if (data == WakeData)
                {
                    RunCommands();
                }
                else
                {
                    _transport.Dispatch(this, data, *(uint*)ev);
                }
            }

            _deadlines.Expire();
        }
    }

    private void RunCommands()
    {
        // Cleared before draining, so a command posted meanwhile writes the eventfd again.
        Volatile.Write(ref _wakeRequested, 0);
        ulong value;
        EpollNative.Read(_wake, (byte*)&value, sizeof(ulong));
        while (_commands.TryDequeue(out var command))
        {
            command.Pair.Run(command);
        }
    }

    /// <summary>What another thread asks of a pair: acted on only if the pair is still in that connection or attempt.</summary>
    internal readonly record struct Command(EpollPair Pair, uint Id, CommandKind Kind);

    internal enum CommandKind
    {
        /// <summary>End the current connect or forward now.</summary>
        Abort,

        /// <summary>Watch the deadline of a connect started on another thread (ignored once it ended).</summary>
        ArmDeadline,

        /// <summary>Stop the forward at a quiet point.</summary>
        Pause,

        /// <summary>Go on with a paused forward.</summary>
        Resume,
    }
}
