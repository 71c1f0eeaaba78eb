namespace DataPlane.Store.Coordination;

/// <summary>
/// Counts one write's acknowledgements: done when <see cref="Needed"/> replicas applied it, or when
/// the replicas still outstanding can no longer make up the difference (so a write that cannot reach
/// its quorum fails at once instead of at its timeout).
/// </summary>
internal sealed class QuorumWrite(int needed)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private int _acks;
    private int _outstanding;
    private bool _sealed;

    public int Needed { get; } = needed;

    public int Acks
    {
        get
        {
            lock (_lock)
            {
                return _acks;
            }
        }
    }

    public Task Done => _done.Task;

    public void Expect()
    {
        lock (_lock)
        {
            _outstanding++;
        }
    }

    public void Ack(bool expected) => Settle(expected, 1);

    public void Fail(bool expected) => Settle(expected, 0);

    /// <summary>Called once every replica has been sent to: only then can the replicas left be too few.</summary>
    public void Sealed()
    {
        lock (_lock)
        {
            _sealed = true;
        }

        Settle(false, 0);
    }

    private void Settle(bool expected, int ack)
    {
        lock (_lock)
        {
            _acks += ack;
            _outstanding -= expected ? 1 : 0;
            if (_acks >= Needed || (_sealed && _acks + _outstanding < Needed))
            {
                _done.TrySetResult();
            }
        }
    }
}
