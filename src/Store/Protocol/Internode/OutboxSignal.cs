using System.Threading.Tasks.Sources;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// A reusable wake-up for one waiting loop (the outbox's sender): <see cref="Set"/> from any thread,
/// <see cref="WaitAsync"/> from the loop. Unlike a SemaphoreSlim it allocates nothing per wait and
/// takes no monitor, and it resumes the loop on the thread pool, so the frames written meanwhile
/// gather into one send instead of one each.
/// </summary>
internal sealed class OutboxSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signalled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    public ValueTask WaitAsync()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == Signalled)
            {
                if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
                {
                    return ValueTask.CompletedTask;
                }

                continue;
            }

            // Idle: nothing completes the core until the state says a waiter is there.
            _core.Reset();
            if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Idle)
            {
                return new ValueTask(this, _core.Version);
            }
        }
    }

    public void Set()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == Signalled || (state == Idle && Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle))
            {
                return;
            }

            if (state == Waiting && Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                _core.SetResult(true);
                return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
