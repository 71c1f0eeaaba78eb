using System.Buffers;

namespace DataPlane.Log.Storage;

/// <summary>
/// One group commit: the batches that concurrent appenders copied in (already stamped with their offsets)
/// while the previous group was being written, and the completion they all wait on.
/// </summary>
internal sealed class AppendGroup : IDisposable
{
    public AppendGroup(int capacity)
    {
        Buffer = ArrayPool<byte>.Shared.Rent(capacity);
        Completion = NewCompletion();
    }

    public byte[] Buffer { get; private set; }

    public int Length { get; set; }

    public int Records { get; set; }

    /// <summary>Completed with the group's outcome once it is written (and synced, if the policy says so).</summary>
    public TaskCompletionSource<LogError> Completion { get; private set; }

    public void Reset()
    {
        Length = 0;
        Records = 0;
        Completion = NewCompletion();
    }

    public void Dispose()
    {
        var buffer = Buffer;
        Buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static TaskCompletionSource<LogError> NewCompletion() =>
        new(TaskCreationOptions.RunContinuationsAsynchronously);
}
