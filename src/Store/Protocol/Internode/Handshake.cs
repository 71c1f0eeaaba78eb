using System.Buffers;
using System.Text;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The first bytes each side sends: "DPIN", the protocol version, and the sender's node name
/// ([u8 length][ASCII]). A version this node does not speak, or a name it does not expect, closes
/// the connection before any frame is read.
/// </summary>
internal static class Handshake
{
    public const byte Version = 1;

    private static ReadOnlySpan<byte> Magic => "DPIN"u8;

    public static byte[] Build(string nodeName, byte version = Version)
    {
        var name = Encoding.ASCII.GetBytes(nodeName);
        var bytes = new byte[Magic.Length + 2 + name.Length];
        Magic.CopyTo(bytes);
        bytes[4] = version;
        bytes[5] = (byte)name.Length;
        name.CopyTo(bytes, 6);
        return bytes;
    }

    /// <summary>Reads a handshake from the front of <paramref name="buffer"/>; false when more bytes are needed.</summary>
    /// <exception cref="InvalidDataException">Not a DataPlane peer, or a version this node does not speak.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out string nodeName)
    {
        nodeName = string.Empty;
        if (buffer.Length < 6)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[6];
        buffer.Slice(0, 6).CopyTo(head);
        if (!head[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a DataPlane internode handshake");
        }

        if (head[4] != Version)
        {
            throw new InvalidDataException($"internode protocol version {head[4]} is not supported (this node speaks {Version})");
        }

        if (buffer.Length < 6 + head[5])
        {
            return false;
        }

        nodeName = Encoding.ASCII.GetString(buffer.Slice(6, head[5]));
        buffer = buffer.Slice(6 + head[5]);
        return true;
    }
}
