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

    public static byte[] Bulk(ReadOnlySpan<byte> payload)
    {
        var writer = new ArrayBufferWriter<byte>(payload.Length + 16);
        WriteBulk(writer, payload);
        return writer.WrittenSpan.ToArray();
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
