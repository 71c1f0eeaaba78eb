using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace DataPlane.Log.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// compiles to the SSE4.2 / ARMv8 CRC instruction; it leaves the initial value and final inversion to us.
/// </summary>
/// <remarks>
/// One chain of CRC instructions waits for each result (3 cycles on x64) before the next 8 bytes, while the CPU
/// can start one per cycle. So long inputs are cut into three blocks whose CRCs run interleaved, and the block
/// CRCs are then combined: the CRC register is linear, so the CRC of A then B is the register after A moved past
/// |B| zero bytes, XOR the CRC of B begun from zero. Moving past a fixed number of zeros is a 32x32 bit matrix,
/// applied a byte at a time from tables (Mark Adler's method in crc32c.c). Every appended batch is checked,
/// so this is on the append path.
/// </remarks>
internal static class Crc32C
{
    /// <summary>Bytes per block in the long loop (a 16 KiB batch takes two rounds of three).</summary>
    private const int LongBlock = 2048;

    private const int ShortBlock = 256;

    private static readonly uint[] s_longShift = ZerosOperator(LongBlock);
    private static readonly uint[] s_shortShift = ZerosOperator(ShortBlock);

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(uint.MaxValue, data);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 3 * LongBlock)
        {
            crc = AppendThree(crc, data[..(3 * LongBlock)], LongBlock, s_longShift);
            data = data[(3 * LongBlock)..];
        }

        while (data.Length >= 3 * ShortBlock)
        {
            crc = AppendThree(crc, data[..(3 * ShortBlock)], ShortBlock, s_shortShift);
            data = data[(3 * ShortBlock)..];
        }

        return AppendSerial(crc, data);
    }

    /// <summary>The CRC register after three blocks of <paramref name="block"/> bytes, computed as three interleaved chains.</summary>
    private static uint AppendThree(uint crc, ReadOnlySpan<byte> data, int block, uint[] shift)
    {
        var a = MemoryMarshal.Cast<byte, ulong>(data[..block]);
        var b = MemoryMarshal.Cast<byte, ulong>(data.Slice(block, block));
        var c = MemoryMarshal.Cast<byte, ulong>(data.Slice(2 * block, block));
        b = b[..a.Length];
        c = c[..a.Length];
        uint crcB = 0, crcC = 0;
        for (var i = 0; i < a.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, LittleEndian(a[i]));
            crcB = BitOperations.Crc32C(crcB, LittleEndian(b[i]));
            crcC = BitOperations.Crc32C(crcC, LittleEndian(c[i]));
        }

        return Shift(shift, Shift(shift, crc) ^ crcB) ^ crcC;
    }

    private static uint AppendSerial(uint crc, ReadOnlySpan<byte> data)
    {
        var longs = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var chunk in longs)
        {
            crc = BitOperations.Crc32C(crc, LittleEndian(chunk));
        }

        foreach (var b in data[(longs.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>The instruction consumes bytes in memory order, so an 8-byte chunk must be read little-endian.</summary>
    private static ulong LittleEndian(ulong chunk) => BitConverter.IsLittleEndian ? chunk : BinaryPrimitives.ReverseEndianness(chunk);

    /// <summary>Moves a CRC register past the zero bytes <paramref name="table"/> was built for.</summary>
    private static uint Shift(uint[] table, uint crc) =>
        table[(byte)crc] ^ table[256 + (byte)(crc >> 8)] ^ table[512 + (byte)(crc >> 16)] ^ table[768 + (crc >> 24)];

    /// <summary>
    /// Tables of the linear map "run <paramref name="zeros"/> zero bytes through the register": entry
    /// [256 * k + v] is the image of byte v in byte position k. Built from the images of the 32 single bits,
    /// each found by running the zeros through the CRC instruction.
    /// </summary>
    private static uint[] ZerosOperator(int zeros)
    {
        Span<uint> bits = stackalloc uint[32];
        for (var bit = 0; bit < 32; bit++)
        {
            var register = 1u << bit;
            for (var i = 0; i < zeros / sizeof(ulong); i++)
            {
                register = BitOperations.Crc32C(register, 0UL);
            }

            bits[bit] = register;
        }

        var table = new uint[4 * 256];
        for (var k = 0; k < 4; k++)
        {
            for (var v = 1; v < 256; v++)
            {
                var image = 0u;
                for (var bit = 0; bit < 8; bit++)
                {
                    if ((v & (1 << bit)) != 0)
                    {
                        image ^= bits[(8 * k) + bit];
                    }
                }

                table[(256 * k) + v] = image;
            }
        }

        return table;
    }
}
