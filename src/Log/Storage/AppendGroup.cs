using System.Collections;
using DataPlane.Log.Records;

namespace DataPlane.Log.Storage;

/// <summary>
/// One group commit: the batches concurrent appenders entered while the previous group was being written,
/// and the appenders waiting for it. Batches are not copied: the group keeps each batch's stamped 61-byte
/// header in its own buffer and points at the rest of the caller's bytes, and the writer hands runs of both
/// to gather writes (pwritev). Copying 16 KiB batches into a staging buffer cost more than the write itself.
/// </summary>
internal sealed class AppendGroup : IReadOnlyList<ReadOnlyMemory<byte>>
{
    /// <summary>Two buffers per batch keep a group within Linux's IOV_MAX of 1024.</summary>
    public const int MaxBatches = 512;

    private readonly byte[] _headers = new byte[MaxBatches * RecordBatch.HeaderSize];
    private readonly ReadOnlyMemory<byte>[] _parts = new ReadOnlyMemory<byte>[MaxBatches * 2];
    private readonly BatchInfo[] _batches = new BatchInfo[MaxBatches];
    private WaiterChain _waiters;
    private int _runStart;
    private int _runCount;

    public AppendGroup(long capacityBytes) => CapacityBytes = capacityBytes;

    /// <summary>The most bytes a group takes before appenders wait for the next one.</summary>
    public long CapacityBytes { get; }

    public int BatchCount { get; private set; }

    public long Bytes { get; private set; }

    public int Records { get; set; }

    /// <summary>The buffers of the current run (see <see cref="SelectRun"/>), for the gather write.</summary>
    public int Count => _runCount * 2;

    public ReadOnlyMemory<byte> this[int index] => _parts[(_runStart * 2) + index];

    public bool HasRoom(long bytes, int batches) =>
        BatchCount + batches <= MaxBatches && (BatchCount == 0 || Bytes + bytes <= CapacityBytes);

    public ref readonly BatchInfo Batch(int index) => ref _batches[index];

    /// <summary>Enters one batch, stamping its base offset and leader epoch into the group's copy of its header.</summary>
    public void Add(ReadOnlyMemory<byte> batch, long baseOffset)
    {
        var i = BatchCount++;
        var header = _headers.AsMemory(i * RecordBatch.HeaderSize, RecordBatch.HeaderSize);
        batch.Span[..RecordBatch.HeaderSize].CopyTo(header.Span);
        RecordBatch.Stamp(header.Span, baseOffset, 0);
        _parts[i * 2] = header;
        _parts[(i * 2) + 1] = batch[RecordBatch.HeaderSize..];
        var span = header.Span;
        _batches[i] = new BatchInfo(batch.Length, baseOffset, RecordBatch.LastOffset(span), RecordBatch.MaxTimestamp(span));
        Bytes += batch.Length;
    }

    public void AddWaiter(AppendWaiter waiter) => _waiters.Add(waiter);

    /// <summary>Makes this list show batches [<paramref name="start"/>, start + count) to the gather write.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> SelectRun(int start, int count)
    {
        _runStart = start;
        _runCount = count;
        return this;
    }

    /// <summary>Empties the group for the next one, dropping its references to callers' bytes, and hands over its waiters.</summary>
    public WaiterChain Reset()
    {
        Array.Clear(_parts, 0, BatchCount * 2);
        var waiters = _waiters;
        _waiters = default;
        BatchCount = 0;
        Bytes = 0;
        Records = 0;
        return waiters;
    }

    public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
