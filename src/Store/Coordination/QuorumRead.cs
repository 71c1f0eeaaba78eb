namespace DataPlane.Store.Coordination;

/// <summary>
/// One read's answers: done when <see cref="Needed"/> replicas answered (the newest answer so far is
/// the result) or when too few are left to answer; <see cref="AllAnswered"/> fires when every replica
/// asked has answered or failed, which is when read repair compares them.
/// </summary>
internal sealed class QuorumRead(int needed)
{
    private readonly TaskCompletionSource _quorum = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly List<(int Node, byte[]? Stored)> _answers = [];
    private int _outstanding = 1;
    private bool _sealed;

    public int Needed { get; } = needed;

    public Task Quorum => _quorum.Task;

    public Task AllAnswered => _all.Task;

    public void Expect()
    {
        lock (_lock)
        {
            _outstanding++;
        }
    }

    public void Answer(int node, byte[]? stored, bool expected)
    {
        lock (_lock)
        {
            _answers.Add((node, stored));
            Settle(expected);
        }
    }

    public void Fail()
    {
        lock (_lock)
        {
            Settle(true);
        }
    }

    /// <summary>Called once every replica has been asked (balances the initial count of one).</summary>
    public void Sealed()
    {
        lock (_lock)
        {
            _sealed = true;
            Settle(true);
        }
    }

    /// <summary>How many answered and the newest stored value among them (null when none has the key).</summary>
    public (int Answers, byte[]? Newest) Result()
    {
        lock (_lock)
        {
            byte[]? newest = null;
            foreach (var (_, stored) in _answers)
            {
                if (stored is not null && (newest is null || Replica.StoredValue.IsNewer(stored, newest)))
                {
                    newest = stored;
                }
            }

            return (_answers.Count, newest);
        }
    }

    /// <summary>Every answer, for read repair (call after <see cref="AllAnswered"/>).</summary>
    public List<(int Node, byte[]? Stored)> Answers()
    {
        lock (_lock)
        {
            return [.. _answers];
        }
    }

    private void Settle(bool expected)
    {
        _outstanding -= expected ? 1 : 0;
        if (_answers.Count >= Needed || (_sealed && _answers.Count + _outstanding < Needed))
        {
            _quorum.TrySetResult();
        }

        if (_outstanding == 0)
        {
            _quorum.TrySetResult();
            _all.TrySetResult();
        }
    }
}
