using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// One event loop: a thread blocked in <c>epoll_wait</c> that runs the I/O of the pairs registered
/// with it, accepts on the listeners registered with it, and times out its pairs' connects. Other
/// threads reach it through a command queue and an eventfd (aborts, pauses). Nothing here blocks but
/// <c>epoll_wait</c>. Loops live as long as the process.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A loop and its waiter live as long as the process.")]
internal sealed class EpollLoop
{
    private readonly EpollTransport _transport;
    private readonly EpollWaiter _waiter = new();
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly ConnectDeadlines _deadlines = new();

    // Listeners that ran out of descriptors or memory, and when to accept on them again (loop thread
    // only; at most one entry per listener, and rarely any).
    private readonly List<(EpollListener Listener, long Due)> _acceptRetries = [];

    // Pairs that used up their turn with more to move, in the order they stopped (loop thread only): they
    // go on once the round's events have run, and epoll_wait does not sleep while one waits.
    private EpollPair? _turnsHead;
    private EpollPair? _turnsTail;

    // Whether the thread binds itself to one CPU when it starts (EpollTransport.PinLoops).
    private readonly bool _pin;

    public EpollLoop(EpollTransport transport, int index, bool pin)
    {
        _transport = transport;
        Index = index;
        _pin = pin;

        // Back only once the thread has bound itself: the transport's first connections then start on the loop's
        // own CPU, and whoever starts the transport can tell from the thread's CPU set what it chose. The thread's
        // first statements are one system call, never a wait.
        using var bound = new ManualResetEventSlim();
        _thread = new Thread(() => Run(bound)) { IsBackground = true, Name = "epoll loop " + index };
        _thread.Start();
        bound.Wait();
    }

    /// <summary>The loop's number in its transport.</summary>
    public int Index { get; }

    /// <summary>The epoll instance (listeners add and remove themselves from any thread).</summary>
    public int Epoll => _waiter.Epoll;

    /// <summary>The connects this loop times out (loop thread only).</summary>
    public ConnectDeadlines Deadlines => _deadlines;

    /// <summary>Whether the calling thread is this loop's thread (its pairs' state may be touched directly).</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Registers <paramref name="fd"/> edge-triggered; events come back tagged with <paramref name="data"/>.</summary>
    public int Register(int fd, ulong data) =>
        EpollNative.Add(_waiter.Epoll, fd, data) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// Accepts on <paramref name="listener"/> again once <paramref name="due"/> (a Stopwatch timestamp)
    /// passed, edge or not (loop thread only); an earlier retry asked for stays as it is.
    /// </summary>
    public void RetryAccept(EpollListener listener, long due)
    {
        foreach (var retry in _acceptRetries)
        {
            if (retry.Listener == listener)
            {
                return;
            }
        }

        _acceptRetries.Add((listener, due));
    }

    /// <summary>Gives <paramref name="pair"/> another turn once this round's events have run (loop thread only).</summary>
    public void QueueTurn(EpollPair pair)
    {
        if (pair.TurnQueued)
        {
            return;
        }

        pair.TurnQueued = true;
        if (_turnsTail is null)
        {
            _turnsHead = pair;
        }
        else
        {
            _turnsTail.NextTurn = pair;
        }

        _turnsTail = pair;
    }

    /// <summary>Runs <paramref name="command"/> on the loop thread soon.</summary>
    public void Post(Command command)
    {
        _commands.Enqueue(command);
        _waiter.Wake();
    }

    private void Run(ManualResetEventSlim bound)
    {
        if (_pin)
        {
            // Unbound when the CPU set cannot be changed (a container may forbid it): slower, not wrong.
            EpollNative.PinToCpu(Index);
        }

        bound.Set();

        while (true)
        {
            var count = _waiter.Wait(_turnsHead is null ? WaitMilliseconds() : 0);
            for (var i = 0; i < count; i++)
            {
                var (data, events) = _waiter.Event(i);
                if (data == EpollWaiter.WakeData)
                {
                    RunCommands();
                }
                else
                {
                    _transport.Dispatch(this, data, events);
                }
            }

            RunTurns();
            _deadlines.Expire();
            RetryAccepts();
        }
    }

    /// <summary>The turns queued until now; a pair that uses up this one too is queued for the next round.</summary>
    private void RunTurns()
    {
        var pair = _turnsHead;
        _turnsHead = _turnsTail = null;
        while (pair is not null)
        {
            var next = pair.NextTurn;
            pair.NextTurn = null;
            pair.TurnQueued = false;
            pair.OnTurn();
            pair = next;
        }
    }

    /// <summary>How long <c>epoll_wait</c> may sleep: until the earliest connect deadline or accept retry.</summary>
    private int WaitMilliseconds()
    {
        var wait = _deadlines.WaitMilliseconds();
        foreach (var retry in _acceptRetries)
        {
            var ms = ConnectDeadlines.MillisecondsUntil(retry.Due);
            wait = wait < 0 ? ms : Math.Min(wait, ms);
        }

        return wait;
    }

    private void RetryAccepts()
    {
        if (_acceptRetries.Count == 0)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();

        // Backwards: a listener still out of descriptors adds itself again at the end, which is not revisited.
        for (var i = _acceptRetries.Count - 1; i >= 0; i--)
        {
            var (listener, due) = _acceptRetries[i];
            if (due <= now)
            {
                _acceptRetries.RemoveAt(i);
                listener.OnRetry(this);
            }
        }
    }

    private void RunCommands()
    {
        _waiter.ClearWake();
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
