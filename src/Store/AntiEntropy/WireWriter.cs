using System.Buffers;
using System.Buffers.Binary;

namespace DataPlane.Store.AntiEntropy;

/// <summary>Builds an anti-entropy payload (little-endian, the counterpart of <see cref="WireReader"/>).</summary>
internal sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public int Length => _buffer.WrittenCount;

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public void Clear() => _buffer.ResetWrittenCount();

    public void U8(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void I32(int value) => U32((uint)value);

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void I64(long value) => U64((ulong)value);

    /// <summary>A u32 length, then the bytes.</summary>
    public void Sized(ReadOnlySpan<byte> bytes)
    {
        U32((uint)bytes.Length);
        _buffer.Write(bytes);
    }

    /// <summary>Reserves a u32 count to fill in later with <see cref="PatchCount"/>; returns its position.</summary>
    public int ReserveCount()
    {
        var at = _buffer.WrittenCount;
        U32(0);
        return at;
    }

    public void PatchCount(int at, int count) =>
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(_buffer.WrittenMemory).Span.Slice(at, 4), (uint)count);
}
