using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace DataPlane.Log.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// compiles to the SSE4.2 / ARMv8 CRC instruction; it leaves the initial value and final inversion to us.
/// </summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(uint.MaxValue, data);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // The instruction consumes bytes in memory order, so an 8-byte chunk must be read little-endian.
        var longs = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var chunk in longs)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? chunk : BinaryPrimitives.ReverseEndianness(chunk));
        }

        foreach (var b in data[(longs.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
