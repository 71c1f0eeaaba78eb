using System.Buffers;
using System.Globalization;
using System.Text;

namespace DataPlane.Store.Coordination;

/// <summary>Whole RESP2 replies as bytes, for replies that are produced off the connection's loop and written in order later.</summary>
internal static class RespReplies
{
    public static readonly byte[] Ok = "+OK\r\n"u8.ToArray();

    public static readonly byte[] Null = "$-1\r\n"u8.ToArray();

    public static byte[] Integer(long value) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $":{value}\r\n"));

    public static byte[] Error(string message) => Encoding.UTF8.GetBytes("-" + message.ReplaceLineEndings(" ") + "\r\n");

    /// <summary>A bulk string reply in one exactly sized array.</summary>
    public static byte[] Bulk(ReadOnlySpan<byte> payload)
    {
        Span<byte> prefix = stackalloc byte[24];
        prefix[0] = (byte)'$';
        System.Buffers.Text.Utf8Formatter.TryFormat(payload.Length, prefix[1..], out var digits);
        var head = digits + 3;
        prefix[digits + 1] = (byte)'\r';
        prefix[digits + 2] = (byte)'\n';
        var reply = new byte[head + payload.Length + 2];
        prefix[..head].CopyTo(reply);
        payload.CopyTo(reply.AsSpan(head));
        reply[^2] = (byte)'\r';
        reply[^1] = (byte)'\n';
        return reply;
    }

    public static void WriteBulk(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> payload)
    {
        writer.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"${payload.Length}\r\n")));
        writer.Write(payload);
        writer.Write("\r\n"u8);
    }

    /// <summary>A command as a RESP array of bulk strings, as a client would send it.</summary>
    public static byte[] Command(Protocol.Resp.RespRequest request)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        writer.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"*{request.Count}\r\n")));
        for (var i = 0; i < request.Count; i++)
        {
            WriteBulk(writer, request[i]);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The length of the one whole reply at the front of <paramref name="buffer"/>; false when it is not whole yet.</summary>
    public static bool TryMeasure(ReadOnlySequence<byte> buffer, out long length)
    {
        var reader = new SequenceReader<byte>(buffer);
        var ok = Skip(ref reader);
        length = ok ? reader.Consumed : 0;
        return ok;
    }

    private static bool Skip(ref SequenceReader<byte> reader)
    {
        if (!reader.TryRead(out var kind) || !reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            return false;
        }

        if (kind is (byte)'+' or (byte)'-' or (byte)':')
        {
            return true;
        }

        Span<byte> digits = stackalloc byte[20];
        if (line.Length > digits.Length)
        {
            throw new InvalidDataException("malformed RESP reply length");
        }

        line.CopyTo(digits);
        if (!Replica.Integers.TryParse(digits[..(int)line.Length], out var count))
        {
            throw new InvalidDataException("malformed RESP reply length");
        }

        if (kind == (byte)'$')
        {
            return count < 0 || (reader.Remaining >= count + 2 && Advance(ref reader, count + 2));
        }

        for (var i = 0; i < count; i++)
        {
            if (!Skip(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Advance(ref SequenceReader<byte> reader, long count)
    {
        reader.Advance(count);
        return true;
    }
}
