namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// The system clock, whose timers wait for the test: each one made signals <see cref="StartedAsync"/> and
/// fires only when the test calls <see cref="Release"/>, whatever its due time. Given to code that pauses on a
/// timer of this clock, it lets a test act at the exact moment of the pause, without sleeping.
/// </summary>
internal sealed class HeldTimerClock : TimeProvider, IDisposable
{
    private readonly SemaphoreSlim _started = new(0);
    private readonly Lock _lock = new();
    private readonly List<HeldTimer> _held = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new HeldTimer(callback, state);
        lock (_lock)
        {
            _held.Add(timer);
        }

        _started.Release();
        return timer;
    }

    /// <summary>Whether a timer was made within 10 s.</summary>
    public Task<bool> StartedAsync() => _started.WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Fires every timer made so far (once) and forgets them.</summary>
    public void Release()
    {
        HeldTimer[] held;
        lock (_lock)
        {
            held = [.. _held];
            _held.Clear();
        }

        foreach (var timer in held)
        {
            timer.Fire();
        }
    }

    public void Dispose() => _started.Dispose();

    private sealed class HeldTimer(TimerCallback callback, object? state) : ITimer
    {
        private int _done;

        public void Fire()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => Volatile.Read(ref _done) == 0;

        public void Dispose() => Volatile.Write(ref _done, 1);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
