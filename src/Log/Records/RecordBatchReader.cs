using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DataPlane.Log.Records;

/// <summary>
/// Decodes the records of RecordBatch v2 batches laid end to end, as <see cref="CommitLog.Read"/> returns them
/// (and as a Kafka fetch carries them). Uncompressed and gzip batches are decoded; a batch of another codec
/// throws <see cref="NotSupportedException"/> naming it. A partial batch at the end (a fetch cut at its byte
/// budget) is ignored, as Kafka consumers ignore it.
/// </summary>
public sealed class RecordBatchReader : IDisposable
{
    /// <summary>The most bytes a gzip batch may inflate to: a bound against compression bombs.</summary>
    public const int MaxInflatedBytes = 64 * 1024 * 1024;

    private readonly ReadOnlyMemory<byte> _data;
    private int _next;
    private ReadOnlyMemory<byte> _records;
    private int _recordPosition;
    private int _remaining;
    private long _baseOffset;
    private long _baseTimestamp;
    private byte[]? _inflated;

    /// <summary>Creates a reader over whole batches; the memory must stay unchanged while the reader is used.</summary>
    /// <param name="batches">Batches laid end to end, possibly followed by a partial one.</param>
    public RecordBatchReader(ReadOnlyMemory<byte> batches) => _data = batches;

    /// <summary>Decodes every record of <paramref name="batches"/>, copying keys, values and headers.</summary>
    /// <param name="batches">Batches laid end to end.</param>
    public static List<LogRecord> ReadAll(ReadOnlyMemory<byte> batches)
    {
        using var reader = new RecordBatchReader(batches);
        var records = new List<LogRecord>();
        while (reader.TryRead(out var r))
        {
            records.Add(r with
            {
                Key = Copy(r.Key),
                Value = Copy(r.Value),
                Headers = r.Headers.Count == 0 ? [] : [.. r.Headers.Select(h => h with { Value = Copy(h.Value) })],
            });
        }

        return records;
    }

    private static ReadOnlyMemory<byte>? Copy(ReadOnlyMemory<byte>? bytes) =>
        bytes is { } b ? (ReadOnlyMemory<byte>?)b.ToArray() : null;

    /// <summary>Reads the next record; false when no whole batch is left.</summary>
    /// <param name="record">The record; its bytes are valid until the reader moves to the next batch.</param>
    /// <exception cref="InvalidDataException">A batch fails its CRC or a record is malformed.</exception>
    /// <exception cref="NotSupportedException">A batch is compressed with a codec other than gzip.</exception>
    public bool TryRead(out LogRecord record)
    {
        while (_remaining == 0)
        {
            if (!NextBatch())
            {
                record = default;
                return false;
            }
        }

        var span = _records.Span;
        var p = _recordPosition;
        if (!Varint.TryReadInt(span, ref p, out var length) || length <= 0 || length > span.Length - p
            || !RecordCodec.TryParse(span.Slice(p, length), out var f))
        {
            throw new InvalidDataException($"Malformed record in the batch at offset {_baseOffset}.");
        }

        var body = _records.Slice(p, length);
        _recordPosition = p + length;
        _remaining--;
        record = new LogRecord(
            _baseOffset + f.OffsetDelta,
            _baseTimestamp + f.TimestampDelta,
            f.KeyLength < 0 ? default(ReadOnlyMemory<byte>?) : body.Slice(f.KeyStart, f.KeyLength),
            f.ValueLength < 0 ? default(ReadOnlyMemory<byte>?) : body.Slice(f.ValueStart, f.ValueLength),
            f.HeaderCount == 0 ? [] : ReadHeaders(body, f));
        return true;
    }

    /// <summary>Returns the pooled inflate buffer.</summary>
    public void Dispose()
    {
        if (_inflated is { } buffer)
        {
            _inflated = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static LogHeader[] ReadHeaders(ReadOnlyMemory<byte> body, in RecordFields f)
    {
        var headers = new LogHeader[f.HeaderCount];
        var span = body.Span;
        var p = f.HeadersStart;
        for (var i = 0; i < headers.Length; i++)
        {
            RecordCodec.TryReadBytes(span, ref p, out var keyStart, out var keyLength);
            RecordCodec.TryReadBytes(span, ref p, out var valueStart, out var valueLength);
            headers[i] = new LogHeader(
                Encoding.UTF8.GetString(span.Slice(keyStart, keyLength)),
                valueLength < 0 ? default(ReadOnlyMemory<byte>?) : body.Slice(valueStart, valueLength));
        }

        return headers;
    }

    private bool NextBatch()
    {
        var rest = _data.Span[_next..];
        if (rest.Length < RecordBatch.HeaderSize)
        {
            return false;
        }

        var size = RecordBatch.TotalSize(rest);
        if (size < RecordBatch.HeaderSize || size > rest.Length)
        {
            return false;
        }

        var batch = _data.Slice(_next, size);
        var span = batch.Span;
        _baseOffset = RecordBatch.BaseOffset(span);
        if (span[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic
            || BinaryPrimitives.ReadUInt32BigEndian(span[RecordBatch.CrcOffset..]) != Crc32C.Compute(span[RecordBatch.AttributesOffset..]))
        {
            throw new InvalidDataException($"The batch at offset {_baseOffset} fails its magic or CRC-32C check.");
        }

        _next += size;
        _baseTimestamp = RecordBatch.BaseTimestamp(span);
        _remaining = RecordBatch.RecordsCount(span);
        _recordPosition = 0;
        var codec = RecordBatch.Codec(span);
        _records = codec switch
        {
            CompressionCodec.None => batch[RecordBatch.HeaderSize..],
            CompressionCodec.Gzip => Inflate(batch[RecordBatch.HeaderSize..]),
            _ => throw new NotSupportedException(
                $"The batch at offset {_baseOffset} is compressed with {codec}; this reader decodes only uncompressed and gzip batches."),
        };
        return true;
    }

    private ReadOnlyMemory<byte> Inflate(ReadOnlyMemory<byte> compressed)
    {
        _inflated ??= ArrayPool<byte>.Shared.Rent(Math.Max(4096, compressed.Length * 4));
        using var source = new MemoryStream(compressed.ToArray(), writable: false);
        using var gzip = new GZipStream(source, CompressionMode.Decompress);
        var length = 0;
        int read;
        while ((read = gzip.Read(_inflated, length, _inflated.Length - length)) > 0)
        {
            length += read;
            if (length == _inflated.Length)
            {
                if (length >= MaxInflatedBytes)
                {
                    throw new InvalidDataException($"The gzip batch at offset {_baseOffset} inflates past {MaxInflatedBytes} bytes.");
                }

                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(length * 2, MaxInflatedBytes));
                _inflated.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_inflated);
                _inflated = bigger;
            }
        }

        return _inflated.AsMemory(0, length);
    }
}
