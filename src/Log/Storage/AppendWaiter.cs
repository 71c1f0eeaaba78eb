using System.Threading.Tasks.Sources;

namespace DataPlane.Log.Storage;

/// <summary>
/// One appender's wait for its group, pooled per partition so that an append allocates nothing: the
/// <see cref="ValueTask{TResult}"/> an appender awaits is backed by a waiter that returns to the pool when
/// the result is read. Continuations run where <see cref="Complete"/> is called, which is always a
/// <see cref="WaiterCompleter"/> on the thread pool. Waiters are chained through <see cref="Next"/> in their group (or in the queue of
/// appends waiting for room in a full group).
/// </summary>
internal sealed class AppendWaiter(PartitionLog owner) : IValueTaskSource<AppendResult>
{
    private ManualResetValueTaskSourceCore<AppendResult> _core = new() { RunContinuationsAsynchronously = false };

    public AppendWaiter? Next { get; set; }

    public long BaseOffset { get; set; }

    public long LastOffset { get; set; }

    /// <summary>For an append waiting for room: its batches (the caller keeps them alive while it awaits).</summary>
    public ReadOnlyMemory<byte> Pending { get; set; }

    public int Records { get; set; }

    public int BatchCount { get; set; }

    public ValueTask<AppendResult> Task => new(this, _core.Version);

    public void Complete(LogError error)
    {
        Pending = default;
        _core.SetResult(error == LogError.None
            ? new AppendResult(LogError.None, DataPlane.Log.Records.BatchError.None, BaseOffset, LastOffset, owner.LogStartOffset)
            : AppendResult.Failed(error));
    }

    public AppendResult GetResult(short token)
    {
        var result = _core.GetResult(token);
        _core.Reset();
        Next = null;
        owner.ReturnWaiter(this);
        return result;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
