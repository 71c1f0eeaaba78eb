using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using DataPlane.Net.IO;

namespace DataPlane.Log.Protocol.Kafka;

/// <summary>
/// Builds a connection's responses (size prefix, header, body each) end to end in one pooled buffer, sent with one
/// write and then cleared; a response that needs no answer (acks=0) is cancelled.
/// </summary>
internal sealed class KafkaWriter : IDisposable
{
    private const int InitialBytes = 64 * 1024;

    /// <summary>A buffer grown past this for one large fetch goes back to the pool when cleared.</summary>
    private const int KeptBytes = 1 << 20;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
    private int _position;
    private int _start;

    /// <summary>Every finished response not yet sent.</summary>
    public ReadOnlyMemory<byte> Pending => _buffer.AsMemory(0, _position);

    /// <summary>The first non-zero error code written by <see cref="ErrorCode"/> since <see cref="Begin"/>, else 0.</summary>
    public short FirstError { get; private set; }

    /// <summary>Starts a response with a placeholder size prefix and a v0 header.</summary>
    public void Begin(int correlationId)
    {
        _start = _position;
        Take(4);
        FirstError = 0;
        Int32(correlationId);
    }

    /// <summary>Fills in the size prefix of the response being built; returns its size, prefix included.</summary>
    public int End()
    {
        var length = _position - _start;
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_start), length - 4);
        _start = _position;
        return length;
    }

    /// <summary>Drops the response being built.</summary>
    public void Cancel() => _position = _start;

    /// <summary>Forgets every response, once they are sent.</summary>
    public void Clear()
    {
        _position = 0;
        _start = 0;
        if (_buffer.Length > KeptBytes)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
        }
    }

    public void Int8(sbyte value) => Take(1)[0] = (byte)value;

    public void Boolean(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void Int16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    /// <summary>An error code field; the first non-zero one is kept for the request metrics.</summary>
    public void ErrorCode(short code)
    {
        if (FirstError == 0)
        {
            FirstError = code;
        }

        Int16(code);
    }

    public void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void Int64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void String(string value) => NullableString(value);

    public void NullableString(string? value)
    {
        if (value is null)
        {
            Int16(-1);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        Int16(checked((short)length));
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Int32(value.Length);
        value.CopyTo(Take(value.Length));
    }

    /// <summary>Room for <paramref name="length"/> bytes written by the caller (a file slice).</summary>
    public Span<byte> Reserve(int length) => Take(length);

    public void UnsignedVarint(uint value)
    {
        while (value >= 0x80)
        {
            Take(1)[0] = (byte)(value | 0x80);
            value >>= 7;
        }

        Take(1)[0] = (byte)value;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private Span<byte> Take(int count)
    {
        PooledBuffer.Grow(ref _buffer, _position, _position + count);
        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }
}
