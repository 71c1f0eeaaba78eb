namespace DataPlane.Store.Coordination;

/// <summary>
/// One read's answers: done when <see cref="Needed"/> replicas answered (the newest answer so far is
/// the result) or when too few are left to answer. When every replica asked has answered or failed,
/// <c>allAnswered</c> runs once, outside the lock, on the thread of the last answer: that is where
/// read repair compares them, without a task or a thread-pool hop per read.
/// </summary>
internal sealed class QuorumRead(int needed, Action<QuorumRead> allAnswered)
{
    private readonly TaskCompletionSource _quorum = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly List<(int Node, byte[]? Stored)> _answers = [];
    private int _outstanding = 1;
    private bool _sealed;

    public int Needed { get; } = needed;

    public Task Quorum => _quorum.Task;

    public void Expect()
    {
        lock (_lock)
        {
            _outstanding++;
        }
    }

    public void Answer(int node, byte[]? stored, bool expected)
    {
        bool all;
        lock (_lock)
        {
            _answers.Add((node, stored));
            all = Settle(expected);
        }

        Finish(all);
    }

    public void Fail()
    {
        bool all;
        lock (_lock)
        {
            all = Settle(true);
        }

        Finish(all);
    }

    /// <summary>Called once every replica has been asked (balances the initial count of one).</summary>
    public void Sealed()
    {
        bool all;
        lock (_lock)
        {
            _sealed = true;
            all = Settle(true);
        }

        Finish(all);
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

    /// <summary>Every answer, for read repair.</summary>
    public List<(int Node, byte[]? Stored)> Answers()
    {
        lock (_lock)
        {
            return [.. _answers];
        }
    }

    private bool Settle(bool expected)
    {
        _outstanding -= expected ? 1 : 0;
        if (_answers.Count >= Needed || (_sealed && _answers.Count + _outstanding < Needed))
        {
            _quorum.TrySetResult();
        }

        return _outstanding == 0;
    }

    private void Finish(bool all)
    {
        if (all)
        {
            _quorum.TrySetResult();
            allAnswered(this);
        }
    }
}
