using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using DataPlane.Net.IO;

namespace DataPlane.Log.Records;

/// <summary>
/// Builds one Kafka RecordBatch v2 from records, as a Kafka producer would send it: offsets from 0, the first
/// record's timestamp as the base, producer id/epoch/sequence -1, CRC-32C filled in. The bytes live in a pooled
/// buffer that the builder reuses after <see cref="Reset"/>.
/// </summary>
public sealed class RecordBatchBuilder : IDisposable
{
    private readonly CompressionCodec _codec;
    private byte[] _buffer;
    private int _length;
    private int _count;
    private long _baseTimestamp;
    private long _maxTimestamp;
    private MemoryStream? _compressed;

    /// <summary>Creates a builder for batches of the given compression.</summary>
    /// <param name="codec"><see cref="CompressionCodec.None"/> or <see cref="CompressionCodec.Gzip"/>.</param>
    /// <param name="initialCapacity">Bytes rented up front; the buffer grows past it as records arrive.</param>
    public RecordBatchBuilder(CompressionCodec codec = CompressionCodec.None, int initialCapacity = 16 * 1024)
    {
        if (codec is not (CompressionCodec.None or CompressionCodec.Gzip))
        {
            throw new NotSupportedException($"The batch builder writes uncompressed or gzip batches, not {codec}.");
        }

        _codec = codec;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, RecordBatch.HeaderSize));
        Reset();
    }

    /// <summary>Records added since the last <see cref="Reset"/>.</summary>
    public int Count => _count;

    /// <summary>The batch's size so far, before compression: what a producer compares with its batch size.</summary>
    public int SizeInBytes => _length;

    /// <summary>Adds a record.</summary>
    /// <param name="key">The key; <see langword="null"/> for none.</param>
    /// <param name="value">The value; <see langword="null"/> for a tombstone.</param>
    /// <param name="timestamp">Create time, milliseconds since the Unix epoch.</param>
    /// <param name="headers">The record's headers.</param>
    public void Add(ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value, long timestamp, ReadOnlySpan<LogHeader> headers = default)
    {
        if (_count == 0)
        {
            _baseTimestamp = timestamp;
            _maxTimestamp = timestamp;
        }

        _maxTimestamp = Math.Max(_maxTimestamp, timestamp);
        var delta = timestamp - _baseTimestamp;
        var keyLength = key is { } k ? k.Length : -1;
        var valueLength = value is { } v ? v.Length : -1;
        var body = RecordCodec.BodySize(delta, _count, keyLength, valueLength, headers);
        Ensure(_length + body + 5);
        _length += RecordCodec.Write(
            _buffer.AsSpan(_length), body, delta, _count,
            key is { } ks ? ks.Span : default, key is null,
            value is { } vs ? vs.Span : default, value is null, headers);
        _count++;
    }

    /// <summary>
    /// Completes the batch and returns its bytes, valid until the next <see cref="Add"/>, <see cref="Reset"/> or
    /// <see cref="Dispose"/>. Calling it twice returns the same batch.
    /// </summary>
    public ReadOnlyMemory<byte> Build()
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        var size = _length;
        if (_codec == CompressionCodec.Gzip)
        {
            size = Compress();
        }

        var header = _buffer.AsSpan(0, RecordBatch.HeaderSize);
        BinaryPrimitives.WriteInt64BigEndian(header, 0);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.LengthOffset..], size - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.PartitionLeaderEpochOffset..], -1);
        header[RecordBatch.MagicOffset] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(header[RecordBatch.AttributesOffset..], (short)_codec);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.LastOffsetDeltaOffset..], _count - 1);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.BaseTimestampOffset..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.MaxTimestampOffset..], _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.ProducerIdOffset..], -1);
        BinaryPrimitives.WriteInt16BigEndian(header[RecordBatch.ProducerEpochOffset..], -1);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.BaseSequenceOffset..], -1);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.RecordsCountOffset..], _count);

        var batch = _codec == CompressionCodec.Gzip ? _compressed!.GetBuffer().AsSpan(0, size) : _buffer.AsSpan(0, size);
        if (_codec == CompressionCodec.Gzip)
        {
            header.CopyTo(batch);
        }

        BinaryPrimitives.WriteUInt32BigEndian(batch[RecordBatch.CrcOffset..], Crc32C.Compute(batch[RecordBatch.AttributesOffset..]));
        return _codec == CompressionCodec.Gzip ? _compressed!.GetBuffer().AsMemory(0, size) : _buffer.AsMemory(0, size);
    }

    /// <summary>Empties the builder for the next batch, keeping its buffer.</summary>
    public void Reset()
    {
        _length = RecordBatch.HeaderSize;
        _count = 0;
    }

    /// <summary>Returns the pooled buffer.</summary>
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _compressed?.Dispose();
    }

    private int Compress()
    {
        _compressed ??= new MemoryStream();
        _compressed.SetLength(0);
        _compressed.Write(stackalloc byte[RecordBatch.HeaderSize]);
        using (var gzip = new GZipStream(_compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(_buffer, RecordBatch.HeaderSize, _length - RecordBatch.HeaderSize);
        }

        return (int)_compressed.Length;
    }

    private void Ensure(int capacity) => PooledBuffer.Grow(ref _buffer, _length, capacity);
}
