namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// The system clock, with timers that can be held: while stalled, none of the node's timer callbacks
/// runs (its heartbeats and gossip; request timeouts too on the sockets transport, while an epoll loop
/// sweeps its own), as when its process stands still in a long GC
/// pause; resuming runs each held timer once, late, as the runtime would. Time itself keeps going.
/// </summary>
internal sealed class StallableClock : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly HashSet<Held> _missed = [];
    private bool _stalled;

    public override long TimestampFrequency => System.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => System.LocalTimeZone;

    public override long GetTimestamp() => System.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(static held => ((Held)held!).Fire(), new Held(this, callback, state), dueTime, period);

    public void Stall()
    {
        lock (_lock)
        {
            _stalled = true;
        }
    }

    public void Resume()
    {
        Held[] missed;
        lock (_lock)
        {
            _stalled = false;
            missed = [.. _missed];
            _missed.Clear();
        }

        foreach (var held in missed)
        {
            held.Run();
        }
    }

    private sealed class Held(StallableClock clock, TimerCallback callback, object? state)
    {
        public void Fire()
        {
            lock (clock._lock)
            {
                if (clock._stalled)
                {
                    clock._missed.Add(this);
                    return;
                }
            }

            Run();
        }

        public void Run() => callback(state);
    }
}
