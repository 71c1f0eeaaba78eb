namespace DataPlane.Store.Coordination;

/// <summary>
/// A quorum operation that can tell an event loop it is decided without a hop through the thread
/// pool: its completion runs continuations asynchronously (a client's state machine must not run on
/// a peer's receive thread), which is one work item per awaited reply; a loop needs only a short
/// call that queues the client and wakes the loop.
/// </summary>
internal interface IWatchedOperation
{
    /// <summary>
    /// Has <paramref name="onDecided"/> called once the operation is decided, on the thread that
    /// decides it; false, and it is never called, when it is decided already. At most one watcher at a time.
    /// </summary>
    bool TryWatch(Action onDecided);
}
