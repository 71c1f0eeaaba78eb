using System.Buffers;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The first bytes each side sends: "DPIN", the protocol version, the sender's node name and its
/// cluster's name (each [u8 length][ASCII]). A version this node does not speak, another cluster, or
/// a name it does not expect closes the connection before any frame is read.
/// </summary>
internal static class Handshake
{
    public const byte Version = 1;

    private const int Fixed = 6;

    /// <summary>How long either side waits for the other's handshake before it gives the connection up.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static ReadOnlySpan<byte> Magic => "DPIN"u8;

    public static byte[] Build(string nodeName, string clusterName, byte version = Version)
    {
        var name = Encoding.ASCII.GetBytes(nodeName);
        var cluster = Encoding.ASCII.GetBytes(clusterName);
        var bytes = new byte[Fixed + name.Length + 1 + cluster.Length];
        Magic.CopyTo(bytes);
        bytes[4] = version;
        bytes[5] = (byte)name.Length;
        name.CopyTo(bytes, Fixed);
        bytes[Fixed + name.Length] = (byte)cluster.Length;
        cluster.CopyTo(bytes, Fixed + name.Length + 1);
        return bytes;
    }

    /// <summary>
    /// Reads a handshake with blocking receives, a byte at a time (a few dozen bytes, once per
    /// connection), so that nothing after it is taken from the socket: what follows belongs to an
    /// event loop. Null when the peer closed the connection first.
    /// </summary>
    /// <exception cref="InvalidDataException">As <see cref="TryRead"/>.</exception>
    public static string? ReceiveBlocking(Socket socket, string clusterName)
    {
        // The longest handshake: the fixed part and two names of 255 bytes each with their lengths.
        var bytes = new byte[Fixed + 256 + 256];
        var length = 0;
        while (length < bytes.Length)
        {
            if (socket.Receive(bytes, length, 1, SocketFlags.None) == 0)
            {
                return null;
            }

            length++;
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
            if (TryRead(ref buffer, clusterName, out var name))
            {
                return name;
            }
        }

        throw new InvalidDataException("internode handshake is longer than any valid one");
    }

    /// <summary>Reads a handshake from the front of <paramref name="buffer"/>; false when more bytes are needed.</summary>
    /// <exception cref="InvalidDataException">Not a DataPlane peer, a version this node does not speak, or another cluster.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, string clusterName, out string nodeName)
    {
        nodeName = string.Empty;
        if (buffer.Length < Fixed)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[Fixed];
        buffer.Slice(0, Fixed).CopyTo(head);
        if (!head[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a DataPlane internode handshake");
        }

        if (head[4] != Version)
        {
            throw new InvalidDataException($"internode protocol version {head[4]} is not supported (this node speaks {Version})");
        }

        var nameLength = head[5];
        if (buffer.Length < Fixed + nameLength + 1)
        {
            return false;
        }

        var clusterLength = buffer.Slice(Fixed + nameLength, 1).FirstSpan[0];
        if (buffer.Length < Fixed + nameLength + 1 + clusterLength)
        {
            return false;
        }

        var cluster = Encoding.ASCII.GetString(buffer.Slice(Fixed + nameLength + 1, clusterLength));
        if (cluster != clusterName)
        {
            throw new InvalidDataException($"the peer belongs to cluster '{cluster}', not '{clusterName}'");
        }

        nodeName = Encoding.ASCII.GetString(buffer.Slice(Fixed, nameLength));
        buffer = buffer.Slice(Fixed + nameLength + 1 + clusterLength);
        return true;
    }
}
