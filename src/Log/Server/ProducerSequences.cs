using System.Buffers.Binary;
using DataPlane.Log.Records;

namespace DataPlane.Log.Server;

/// <summary>
/// The idempotent producer's state: producer ids handed out by InitProducerId, and per (producer id, topic,
/// partition) the epoch and the last few batches' sequences, so a retried batch is answered with its original
/// offset instead of being appended twice, and a gap in the sequence is refused.
/// </summary>
internal sealed class ProducerSequences(long firstProducerId)
{
    /// <summary>Kafka keeps the last five batches per producer and partition (max.in.flight for idempotence).</summary>
    private const int Remembered = 5;
    private const short OutOfOrderSequenceNumber = 45;
    private const short InvalidProducerEpoch = 47;

    private readonly Dictionary<(long ProducerId, string Topic, int Partition), State> _states = [];
    private readonly Lock _lock = new();
    private long _nextProducerId = firstProducerId;

    public long NewProducerId() => Interlocked.Increment(ref _nextProducerId);

    /// <summary>What to do with a partition's batches: append them (null), or answer at once with the result given.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="batches">The batches as sent; only the first one's header is read.</param>
    public AppendResult? Check(string topic, int partition, ReadOnlySpan<byte> batches)
    {
        if (!TryReadHeader(batches, out var producerId, out var epoch, out var firstSequence, out var count) || producerId < 0)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_states.TryGetValue((producerId, topic, partition), out var state) || epoch > state.Epoch)
            {
                return null;
            }

            if (epoch < state.Epoch)
            {
                return AppendResult.Failed((LogError)InvalidProducerEpoch);
            }

            foreach (var (first, last, baseOffset) in state.Batches)
            {
                if (first == firstSequence && last == firstSequence + count - 1)
                {
                    return new AppendResult(LogError.None, BatchError.None, baseOffset, baseOffset + count - 1, -1);
                }
            }

            return firstSequence == state.LastSequence + 1 ? null : AppendResult.Failed((LogError)OutOfOrderSequenceNumber);
        }
    }

    /// <summary>Remembers an appended batch's sequences and offset.</summary>
    public void Appended(string topic, int partition, ReadOnlySpan<byte> batches, long baseOffset)
    {
        if (!TryReadHeader(batches, out var producerId, out var epoch, out var firstSequence, out var count) || producerId < 0)
        {
            return;
        }

        lock (_lock)
        {
            var key = (producerId, topic, partition);
            if (!_states.TryGetValue(key, out var state) || epoch > state.Epoch)
            {
                state = new State(epoch);
                _states[key] = state;
            }

            state.LastSequence = firstSequence + count - 1;
            state.Batches.Enqueue((firstSequence, state.LastSequence, baseOffset));
            if (state.Batches.Count > Remembered)
            {
                state.Batches.Dequeue();
            }
        }
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> batches, out long producerId, out short epoch, out int firstSequence, out int count)
    {
        producerId = -1;
        epoch = 0;
        firstSequence = 0;
        count = 0;
        if (batches.Length < RecordBatch.HeaderSize)
        {
            return false;
        }

        producerId = BinaryPrimitives.ReadInt64BigEndian(batches[RecordBatch.ProducerIdOffset..]);
        epoch = BinaryPrimitives.ReadInt16BigEndian(batches[RecordBatch.ProducerEpochOffset..]);
        firstSequence = BinaryPrimitives.ReadInt32BigEndian(batches[RecordBatch.BaseSequenceOffset..]);
        count = BinaryPrimitives.ReadInt32BigEndian(batches[RecordBatch.LastOffsetDeltaOffset..]) + 1;
        return true;
    }

    private sealed class State(short epoch)
    {
        public short Epoch { get; } = epoch;

        public int LastSequence { get; set; } = -1;

        public Queue<(int First, int Last, long BaseOffset)> Batches { get; } = new();
    }
}
