using System.Buffers;
using DataPlane.Net.IO;

namespace DataPlane.Store.Hints;

internal sealed partial class HintStore
{
    /// <summary>The hints of one node: the file being appended, and under fsync always the batch waiting for the writer. Used under the store's lock.</summary>
    private sealed class Target(string node)
    {
        private const int InitialBatchBytes = 16 * 1024;

        private byte[] _batch = [];

        public string Node { get; } = node;

        public FileStream? File { get; set; }

        public long Sequence { get; set; }

        public long Pending { get; set; }

        /// <summary>The last batch written was refused (its failure logged; the next are not, until one is written).</summary>
        public bool Refusing { get; set; }

        /// <summary>Written to since its last sync (off fsync always).</summary>
        public bool Unsynced { get; set; }

        /// <summary>The hints in the batch, and the round their callers wait on (null while the batch is empty).</summary>
        public int Batched { get; private set; }

        public int BatchLength { get; private set; }

        public TaskCompletionSource<bool>? Round { get; private set; }

        /// <summary>Copies a hint into the batch.</summary>
        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
        {
            var size = HintRecord.Size(key.Length, stored.Length);
            PooledBuffer.Grow(ref _batch, BatchLength, Math.Max(InitialBatchBytes, BatchLength + size));

            HintRecord.Write(_batch.AsSpan(BatchLength, size), key, stored);
            BatchLength += size;
            Batched++;
        }

        /// <summary>The round the batch's callers wait on, under fsync always (off it nobody waits, and none is made).</summary>
        public Task<bool> JoinRound() => (Round ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        /// <summary>Empties the batch: its bytes (valid until the next <see cref="Append"/>), how many hints, and their round.</summary>
        public (ReadOnlyMemory<byte> Bytes, int Count, TaskCompletionSource<bool>? Round) TakeBatch()
        {
            var taken = (_batch.AsMemory(0, BatchLength), Batched, Round);
            (BatchLength, Batched, Round) = (0, 0, null);
            return taken;
        }

        /// <summary>Gives the batch's buffer back to the pool: after a burst, or when the store closes.</summary>
        public void ReturnBatch()
        {
            if (_batch.Length > 0 && BatchLength == 0)
            {
                ArrayPool<byte>.Shared.Return(_batch);
                _batch = [];
            }
        }

        /// <summary>After a round: a buffer grown by a burst goes back, so a node that kept hints once does not hold megabytes for good.</summary>
        public void TrimBatch()
        {
            if (_batch is { Length: > InitialBatchBytes * 16 })
            {
                ReturnBatch();
            }
        }
    }
}
