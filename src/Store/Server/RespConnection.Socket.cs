using System.Buffers;
using System.Net.Sockets;
using DataPlane.Store.Protocol.Resp;

namespace DataPlane.Store.Server;

internal sealed partial class RespConnection
{
    /// <summary>The receive buffer a connection starts with.</summary>
    internal const int ReceiveChunk = 16 * 1024;

    /// <summary>A receive buffer larger than this goes back to the pool once it is empty.</summary>
    private const int KeepReceiveBytes = 64 * 1024;

    /// <summary>The least room a receive asks for; less makes room first.</summary>
    internal const int MinReceive = 2048;

    /// <summary>The largest receive buffer: one whole request at its limit, plus what arrives after it.</summary>
    private const long MaxReceiveBytes = RespParser.MaxRequestBytes + ReceiveChunk;

    /// <summary>
    /// A single node's client on its own socket, one loop and no pipes: receive into one contiguous
    /// pooled buffer, execute every whole command in it, write the replies into one buffer, secure
    /// the batch's writes, send the replies with one system call, receive again. With inline socket
    /// completions all of it runs on the socket's completion thread: per request one receive and one
    /// send, and no hop between loops (the pipe transport ran three state machines per request).
    /// The buffer grows only as bytes arrive, never by a length a client announces.
    /// </summary>
    private async Task RunSocketAsync(Socket socket)
    {
        var replies = _replies!;
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        var start = 0;
        var end = 0;
        try
        {
            while (true)
            {
                if (buffer.Length - end < MinReceive && !MakeRoom(ref buffer, ref start, ref end))
                {
                    RefuseTooLarge();
                    await SendRepliesAsync(socket, replies).ConfigureAwait(false);
                    break;
                }

                var received = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                end += received;
                var before = _session.LastSequence;
                var close = ExecuteReceived(buffer, ref start, end);
                if (!await SecureWritesAsync(before).ConfigureAwait(false))
                {
                    // The log refused the batch (a full disk): drop the connection unanswered, so no
                    // write of it is acknowledged; later writes get an error reply.
                    break;
                }

                await SendRepliesAsync(socket, replies).ConfigureAwait(false);
                if (close)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    break;
                }

                RewindIfEmpty(ref buffer, ref start, ref end);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client went away or the server is stopping.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask SendRepliesAsync(Socket socket, ReplyBuffer replies)
    {
        var pending = replies.WrittenMemory;
        while (!pending.IsEmpty)
        {
            var sent = await socket.SendAsync(pending, SocketFlags.None).ConfigureAwait(false);
            pending = pending[sent..];
        }

        replies.Clear();
    }

    /// <summary>
    /// Once every received byte was executed, the next receive starts at the front, and a buffer
    /// that grew for one large request goes back to the pool for one of the starting size.
    /// </summary>
    internal static void RewindIfEmpty(ref byte[] buffer, ref int start, ref int end)
    {
        if (start != end)
        {
            return;
        }

        start = end = 0;
        if (buffer.Length > KeepReceiveBytes)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        }
    }

    /// <summary>
    /// Makes room after <paramref name="end"/> in a nearly full buffer: moves the unparsed bytes to the
    /// front, or, when they fill most of it (one large request arriving), doubles it up to the limit.
    /// False when one incomplete request fills the buffer at its limit.
    /// </summary>
    internal static bool MakeRoom(ref byte[] buffer, ref int start, ref int end)
    {
        var length = end - start;
        if (start > 0 && length <= buffer.Length / 2)
        {
            buffer.AsSpan(start, length).CopyTo(buffer);
        }
        else if (buffer.Length < MaxReceiveBytes)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(MaxReceiveBytes, (long)buffer.Length * 2));
            buffer.AsSpan(start, length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = bigger;
        }
        else if (start > 0)
        {
            buffer.AsSpan(start, length).CopyTo(buffer);
        }
        else
        {
            return end < buffer.Length;
        }

        start = 0;
        end = length;
        return true;
    }
}
