namespace DataPlane.Store.Membership;

/// <summary>
/// Paces one node's incoming transfers together: however many senders it pulls from at once, the
/// bytes it receives stay under one rate, so a join that pulls from every old owner costs clients no
/// more than a pull from one. The clean-up after a switch paces its deletions with it too (counting keys).
/// </summary>
internal sealed class TransferPacer(TimeProvider time, long bytesPerSecond)
{
    private readonly long _started = time.GetTimestamp();
    private long _bytes;

    /// <summary>Counts a batch done (bytes, or keys) and waits until the rate allows the next one.</summary>
    public Task PaceAsync(long bytes, CancellationToken cancellationToken)
    {
        var total = Interlocked.Add(ref _bytes, bytes);
        var due = TimeSpan.FromSeconds((double)total / bytesPerSecond) - time.GetElapsedTime(_started);
        return due > TimeSpan.Zero ? Task.Delay(due, time, cancellationToken) : Task.CompletedTask;
    }
}
