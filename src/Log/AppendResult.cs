using DataPlane.Log.Records;

namespace DataPlane.Log;

/// <summary>What an append did: the offsets it was given, or why nothing was appended.</summary>
/// <param name="Error"><see cref="LogError.None"/> when the batches were appended.</param>
/// <param name="BatchError">For a rejected batch, the specific check it failed.</param>
/// <param name="BaseOffset">The offset of the append's first record; -1 on error.</param>
/// <param name="LastOffset">The offset of the append's last record; -1 on error.</param>
/// <param name="LogStartOffset">The partition's first readable offset when the append completed.</param>
public readonly record struct AppendResult(LogError Error, BatchError BatchError, long BaseOffset, long LastOffset, long LogStartOffset)
{
    internal static AppendResult Failed(LogError error, BatchError batchError = BatchError.None) =>
        new(error, batchError, -1, -1, -1);
}
