using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace DataPlane.Store.Protocol.Resp;

/// <summary>RESP2 replies written straight into the output pipe; nothing allocated for the common ones.</summary>
internal static class RespWriter
{
    public static ReadOnlySpan<byte> Ok => "+OK\r\n"u8;

    public static ReadOnlySpan<byte> Pong => "+PONG\r\n"u8;

    public static ReadOnlySpan<byte> NullBulk => "$-1\r\n"u8;

    public static ReadOnlySpan<byte> EmptyArray => "*0\r\n"u8;

    public static void WriteRaw(this IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    public static void WriteInteger(this IBufferWriter<byte> writer, long value) => WritePrefixed(writer, (byte)':', value);

    public static void WriteArrayHeader(this IBufferWriter<byte> writer, int count) => WritePrefixed(writer, (byte)'*', count);

    public static void WriteBulk(this IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        WritePrefixed(writer, (byte)'$', value.Length);
        writer.Write(value);
        writer.Write("\r\n"u8);
    }

    public static void WriteBulk(this IBufferWriter<byte> writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.WriteBulk(bytes);
    }

    public static void WriteSimple(this IBufferWriter<byte> writer, string value)
    {
        writer.Write("+"u8);
        writer.Write(Encoding.UTF8.GetBytes(value));
        writer.Write("\r\n"u8);
    }

    /// <summary>An error reply: <paramref name="message"/> starts with its code (<c>ERR</c>, <c>WRONGTYPE</c>, ...).</summary>
    public static void WriteError(this IBufferWriter<byte> writer, string message)
    {
        writer.Write("-"u8);
        writer.Write(Encoding.UTF8.GetBytes(message.ReplaceLineEndings(" ")));
        writer.Write("\r\n"u8);
    }

    private static void WritePrefixed(IBufferWriter<byte> writer, byte prefix, long value)
    {
        var span = writer.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[written + 1] = (byte)'\r';
        span[written + 2] = (byte)'\n';
        writer.Advance(written + 3);
    }
}
