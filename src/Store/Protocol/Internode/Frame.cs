using System.Buffers;
using System.Buffers.Binary;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// An internode frame: [u32 payload length][u8 type][u64 request id][payload], little-endian. The
/// length is checked against <see cref="MaxPayload"/> before anything is buffered for it, and a frame
/// is handled only once it is whole, so a peer that dies mid-frame has applied nothing of it.
/// </summary>
internal static class Frame
{
    public const int HeaderSize = 13;

    /// <summary>The largest payload: a value as large as the store takes (32 MiB page) plus its key and headers.</summary>
    public const int MaxPayload = 64 * 1024 * 1024;

    /// <summary>Takes one whole frame from the front of <paramref name="buffer"/>; false when more bytes are needed.</summary>
    /// <exception cref="InvalidDataException">The peer announced a frame larger than <see cref="MaxPayload"/> or of no known type.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out FrameType type, out ulong requestId, out ReadOnlySequence<byte> payload)
    {
        type = default;
        requestId = 0;
        payload = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[HeaderSize];
        scoped ReadOnlySpan<byte> header;
        if (buffer.FirstSpan.Length >= HeaderSize)
        {
            // The usual case (a loop receives into one array): the header is read where it is.
            header = buffer.FirstSpan[..HeaderSize];
        }
        else
        {
            buffer.Slice(0, HeaderSize).CopyTo(copy);
            header = copy;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > MaxPayload)
        {
            throw new InvalidDataException($"internode frame of {length} bytes exceeds the {MaxPayload}-byte limit");
        }

        type = (FrameType)header[4];
        if (!Enum.IsDefined(type))
        {
            throw new InvalidDataException($"unknown internode frame type {header[4]}");
        }

        if (buffer.Length < HeaderSize + length)
        {
            return false;
        }

        requestId = BinaryPrimitives.ReadUInt64LittleEndian(header[5..]);
        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(HeaderSize + length);
        return true;
    }

    public static void WriteHeader(Span<byte> destination, FrameType type, ulong requestId, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payloadLength);
        destination[4] = (byte)type;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[5..], requestId);
    }

    /// <summary>
    /// The FASTER hashes (<see cref="Replica.FasterPrefetch.Hash"/>) of the keys of the write and read
    /// frames among the next <paramref name="hashes"/>.Length whole frames at the front of
    /// <paramref name="frames"/>, for a prefetch ahead of handling them; returns how many it filled, and in
    /// <paramref name="seen"/> how many frames it went past (those without a key too). It
    /// only looks: a frame cut short ends the look-ahead, a frame of another type or with a key length that
    /// runs past its payload is passed over, and <see cref="TryRead"/> and the handler judge them all.
    /// </summary>
    public static int KeyHashes(ReadOnlySpan<byte> frames, Span<long> hashes, out int seen)
    {
        var count = 0;
        for (seen = 0; seen < hashes.Length && frames.Length >= HeaderSize; seen++)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(frames);
            if (length > (uint)(frames.Length - HeaderSize))
            {
                break;
            }

            var payload = frames.Slice(HeaderSize, (int)length);
            var key = (FrameType)frames[4] switch
            {
                FrameType.Read => payload,
                FrameType.Write when payload.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(payload) <= (uint)(payload.Length - 4)
                    => payload.Slice(4, (int)BinaryPrimitives.ReadUInt32LittleEndian(payload)),
                _ => default,
            };

            if (!key.IsEmpty)
            {
                hashes[count++] = Replica.FasterPrefetch.Hash(key);
            }

            frames = frames[(HeaderSize + (int)length)..];
        }

        return count;
    }

    /// <summary>Splits a write payload ([u32 key length][key][stored]).</summary>
    /// <exception cref="InvalidDataException">The key length runs past the payload, or the stored value is shorter than its header.</exception>
    public static void SplitKeyValue(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> stored)
    {
        if (payload.Length < 4)
        {
            throw new InvalidDataException("internode write payload is shorter than its key length");
        }

        var keyLength = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (keyLength > (uint)(payload.Length - 4) || payload.Length - 4 - (int)keyLength < Replica.StoredValue.HeaderSize)
        {
            throw new InvalidDataException("internode write payload is malformed");
        }

        key = payload.Slice(4, (int)keyLength);
        stored = payload[(4 + (int)keyLength)..];
    }
}
