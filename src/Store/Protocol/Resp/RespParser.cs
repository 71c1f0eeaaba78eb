using System.Buffers;

namespace DataPlane.Store.Protocol.Resp;

/// <summary>
/// RESP2 requests: arrays of bulk strings (<c>*N\r\n$L\r\nDATA\r\n...</c>) and inline commands
/// (a line of space-separated words). A frame is first measured over the sequence without
/// allocating anything, bounding each announced size before trusting it; only a complete frame is
/// indexed, so a large value is buffered by the pipe as it arrives, never by its announced length.
/// </summary>
internal static partial class RespParser
{
    /// <summary>Redis refuses multibulk requests with more than this many elements.</summary>
    public const int MaxArguments = 1024 * 1024;

    /// <summary>Redis's PROTO_INLINE_MAX_SIZE: the longest inline command (and number line) it reads.</summary>
    public const int MaxInlineLength = 64 * 1024;

    /// <summary>Redis's client-query-buffer-limit: one request may not exceed 1 GiB.</summary>
    public const long MaxRequestBytes = 1L << 30;

    /// <summary>
    /// The FASTER hashes (<see cref="Replica.FasterPrefetch.Hash"/>) of the keys (first arguments) of the
    /// next <paramref name="hashes"/>.Length whole commands at the front of <paramref name="unread"/>, parsed
    /// into <paramref name="scratch"/>, for a prefetch ahead of running them; returns how many it filled,
    /// and in <paramref name="seen"/> how many commands it went past (those without a key too). It reads only
    /// the first segment (a command that straddles two would be copied whole to be read) and stops at a
    /// command that is not whole there or does not parse: running the commands judges those. A command whose
    /// first argument is no key gives a hash all the same, which costs a wasted cache line.
    /// </summary>
    public static int KeyHashes(ReadOnlySequence<byte> unread, RespRequest scratch, long maxBulkLength, Span<long> hashes, out int seen)
    {
        var reader = new SequenceReader<byte>(unread.Slice(0, unread.FirstSpan.Length));
        var count = 0;
        for (seen = 0; seen < hashes.Length && TryParse(ref reader, scratch, maxBulkLength, out _) == ParseStatus.Complete; seen++)
        {
            if (scratch.Count >= 2)
            {
                hashes[count++] = Replica.FasterPrefetch.Hash(scratch[1]);
            }
        }

        return count;
    }

    public static ParseStatus TryParse(ref SequenceReader<byte> reader, RespRequest request, long maxBulkLength, out string? error)
    {
        error = null;
        if (!reader.TryPeek(out var first))
        {
            return ParseStatus.Incomplete;
        }

        return first == (byte)'*'
            ? TryParseArray(ref reader, request, maxBulkLength, out error)
            : TryParseInline(ref reader, request, out error);
    }

    private static ParseStatus TryParseArray(ref SequenceReader<byte> reader, RespRequest request, long maxBulkLength, out string? error)
    {
        error = null;
        var start = reader.Position;
        var probe = reader;
        probe.Advance(1);
        var status = TryReadNumber(ref probe, out var count);
        if (status != ParseStatus.Complete)
        {
            error = status == ParseStatus.Error ? "Protocol error: invalid multibulk length" : null;
            return status;
        }

        if (count < 0 || count > MaxArguments)
        {
            error = "Protocol error: invalid multibulk length";
            return ParseStatus.Error;
        }

        for (var i = 0; i < count; i++)
        {
            if (!probe.TryRead(out var type))
            {
                return ParseStatus.Incomplete;
            }

            if (type != (byte)'$')
            {
                error = $"Protocol error: expected '$', got '{(char)type}'";
                return ParseStatus.Error;
            }

            status = TryReadNumber(ref probe, out var length);
            if (status != ParseStatus.Complete || length < 0 || length > maxBulkLength)
            {
                error = status == ParseStatus.Incomplete ? null : "Protocol error: invalid bulk length";
                return status == ParseStatus.Incomplete ? status : ParseStatus.Error;
            }

            if (probe.Remaining < length + 2)
            {
                return ParseStatus.Incomplete;
            }

            if (probe.Consumed - reader.Consumed + length > MaxRequestBytes)
            {
                error = "Protocol error: request too large";
                return ParseStatus.Error;
            }

            probe.Advance(length);
            if (!probe.IsNext("\r\n"u8, advancePast: true))
            {
                error = "Protocol error: expected CRLF after bulk string";
                return ParseStatus.Error;
            }
        }

        var frame = reader.Sequence.Slice(start, probe.Position);
        reader = probe;
        Index(frame, request);
        return ParseStatus.Complete;
    }

    /// <summary>Reads <c>[-]digits\r\n</c>; more than 18 digits or any other byte is an error.</summary>
    private static ParseStatus TryReadNumber(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        var negative = false;
        var digits = 0;
        while (true)
        {
            if (!reader.TryRead(out var b))
            {
                return ParseStatus.Incomplete;
            }

            if (b == (byte)'\r')
            {
                if (!reader.TryRead(out var lf))
                {
                    return ParseStatus.Incomplete;
                }

                value = negative ? -value : value;
                return lf == (byte)'\n' && digits > 0 ? ParseStatus.Complete : ParseStatus.Error;
            }

            if (b == (byte)'-' && digits == 0 && !negative)
            {
                negative = true;
            }
            else if (b is >= (byte)'0' and <= (byte)'9' && ++digits <= 18)
            {
                value = (value * 10) + (b - '0');
            }
            else
            {
                return ParseStatus.Error;
            }
        }
    }

    /// <summary>Records where each argument of a validated frame lies.</summary>
    private static void Index(ReadOnlySequence<byte> frame, RespRequest request)
    {
        ReadOnlyMemory<byte> memory;
        if (frame.IsSingleSegment)
        {
            memory = frame.First;
        }
        else
        {
            var copy = request.CopyBuffer(checked((int)frame.Length));
            frame.CopyTo(copy);
            memory = copy.AsMemory(0, (int)frame.Length);
        }

        request.Reset(memory);
        var span = memory.Span;
        var position = 1;
        var count = ReadLine(span, ref position);
        for (var i = 0; i < count; i++)
        {
            position++; // '$'
            var length = ReadLine(span, ref position);
            request.Add(position, length);
            position += length + 2;
        }
    }

    private static int ReadLine(ReadOnlySpan<byte> span, ref int position)
    {
        var value = 0;
        while (span[position] != (byte)'\r')
        {
            value = (value * 10) + (span[position++] - '0');
        }

        position += 2;
        return value;
    }
}
