using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using K4os.Hash.xxHash;

namespace DataPlane.Ring;

/// <summary>
/// The hash every ring position comes from: 64-bit xxHash (XXH64, seed 0) over the key's bytes.
/// A string key is hashed as its UTF-8 bytes, so <c>"user:1"</c> and the bytes of <c>"user:1"</c>
/// land on the same position, and hashing a string allocates nothing.
/// </summary>
public static class RingHash
{
    // 3 UTF-8 bytes per UTF-16 char at most; 85 chars fit a 256-byte stack buffer.
    private const int StackChars = 85;

    /// <summary>Hashes a key given as bytes.</summary>
    public static ulong Hash(ReadOnlySpan<byte> key) => XXH64.DigestOf(key);

    /// <summary>Hashes a key given as characters, through their UTF-8 encoding, without allocating.</summary>
    public static ulong Hash(ReadOnlySpan<char> key)
    {
        if (key.Length > StackChars)
        {
            return HashLong(key);
        }

        // Utf8.FromUtf16 is the static transcoder under Encoding.UTF8, without its virtual calls;
        // lone surrogates become U+FFFD as Encoding.UTF8 makes them.
        Span<byte> utf8 = stackalloc byte[256];
        Utf8.FromUtf16(key, utf8, out _, out var length);
        return XXH64.DigestOf(utf8[..length]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLong(ReadOnlySpan<char> key)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(key.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(key, rented);
            return XXH64.DigestOf(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The position of virtual node <paramref name="index"/> of the node identified by <paramref name="nodeId"/>.</summary>
    internal static ulong Token(string nodeId, int index) => Hash($"{nodeId}#{index}");
}
