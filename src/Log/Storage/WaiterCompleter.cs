namespace DataPlane.Log.Storage;

/// <summary>
/// Completes a group's waiters on a thread-pool thread, one work item per group rather than one per append
/// (a per-waiter asynchronous completion would allocate a work item each). The appenders' continuations run
/// one after another on that thread; the partition's writer and syncer never run them. Pooled per partition.
/// </summary>
internal sealed class WaiterCompleter(PartitionLog owner) : IThreadPoolWorkItem
{
    private WaiterChain _waiters;
    private LogError _outcome;

    public void Start(ref WaiterChain waiters, LogError outcome)
    {
        _waiters = waiters;
        waiters = default;
        _outcome = outcome;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void Execute()
    {
        var waiters = _waiters;
        _waiters = default;
        var outcome = _outcome;
        owner.ReturnCompleter(this);
        waiters.CompleteAll(outcome);
    }
}
