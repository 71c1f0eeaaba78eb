using System.Buffers;

namespace DataPlane.Store.Protocol.Resp;

internal static partial class RespParser
{
    /// <summary>
    /// An inline command: one line, words split on spaces and tabs; double quotes take C escapes
    /// (<c>\n \r \t \b \a \\ \" \xHH</c>), single quotes only <c>\'</c>, as Redis's sdssplitargs.
    /// </summary>
    private static ParseStatus TryParseInline(ref SequenceReader<byte> reader, RespRequest request, out string? error)
    {
        error = null;
        var probe = reader;
        if (!probe.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (reader.Remaining > MaxInlineLength)
            {
                error = "Protocol error: too big inline request";
                return ParseStatus.Error;
            }

            return ParseStatus.Incomplete;
        }

        if (line.Length > MaxInlineLength)
        {
            error = "Protocol error: too big inline request";
            return ParseStatus.Error;
        }

        var length = (int)line.Length;
        var copy = request.CopyBuffer(Math.Max(length, 1));
        line.CopyTo(copy);
        if (length > 0 && copy[length - 1] == (byte)'\r')
        {
            length--;
        }

        request.Reset(copy.AsMemory(0, length));
        if (!Split(copy.AsSpan(0, length), request))
        {
            error = "Protocol error: unbalanced quotes in request";
            return ParseStatus.Error;
        }

        reader = probe;
        return ParseStatus.Complete;
    }

    /// <summary>Splits in place: an unescaped word is never longer than its source.</summary>
    private static bool Split(Span<byte> line, RespRequest request)
    {
        var read = 0;
        while (true)
        {
            while (read < line.Length && line[read] is (byte)' ' or (byte)'\t')
            {
                read++;
            }

            if (read == line.Length)
            {
                return true;
            }

            var start = read;
            var write = read;
            var quote = (byte)0;
            while (read < line.Length)
            {
                var c = line[read];
                if (quote == 0)
                {
                    if (c is (byte)' ' or (byte)'\t')
                    {
                        break;
                    }

                    if (c is (byte)'"' or (byte)'\'')
                    {
                        quote = c;
                        read++;
                        continue;
                    }

                    line[write++] = c;
                    read++;
                    continue;
                }

                if (c == quote)
                {
                    read++;
                    if (read < line.Length && line[read] is not ((byte)' ' or (byte)'\t'))
                    {
                        return false; // Redis: a closing quote must be followed by a space
                    }

                    quote = 0;
                    break;
                }

                if (c == (byte)'\\' && read + 1 < line.Length)
                {
                    read += Unescape(line, read, quote, out var unescaped);
                    line[write++] = unescaped;
                    continue;
                }

                line[write++] = c;
                read++;
            }

            if (quote != 0)
            {
                return false;
            }

            request.Add(start, write - start);
        }
    }

    private static int Unescape(Span<byte> line, int at, byte quote, out byte value)
    {
        var next = line[at + 1];
        if (quote == (byte)'\'')
        {
            value = next == (byte)'\'' ? next : (byte)'\\';
            return next == (byte)'\'' ? 2 : 1;
        }

        if (next == (byte)'x' && at + 3 < line.Length && IsHex(line[at + 2]) && IsHex(line[at + 3]))
        {
            value = (byte)((Hex(line[at + 2]) << 4) | Hex(line[at + 3]));
            return 4;
        }

        value = next switch
        {
            (byte)'n' => (byte)'\n',
            (byte)'r' => (byte)'\r',
            (byte)'t' => (byte)'\t',
            (byte)'b' => (byte)'\b',
            (byte)'a' => (byte)'\a',
            _ => next,
        };
        return 2;
    }

    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);

    private static int Hex(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
