using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The receive side of a <see cref="PeerClient"/> connection run by an <see cref="IPeerLoop"/>: the
/// loop receives the peer's replies with non-blocking <c>recv</c> calls on its own thread and
/// completes their requests there. The socket never joins the runtime's epoll for receiving, so a
/// reply wakes one thread, the loop's. Touched only on the loop's thread (or, once the loop has
/// ended, by whoever closes it); its fd number is used only while the socket is open.
/// </summary>
internal sealed unsafe class PeerReceiver
{
    private const int InitialBuffer = 64 * 1024;
    private const int MinRoom = 4096;

    private readonly PeerClient _client;
    private readonly Socket _socket;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    private int _start;
    private int _end;
    private bool _closed;

    public PeerReceiver(PeerClient client, Socket socket)
    {
        _client = client;
        _socket = socket;
        Fd = (int)socket.Handle;
    }

    public int Fd { get; }

    /// <summary>Whether <see cref="Close"/> ran (the loop's thread, or the only owner after the loop ended).</summary>
    public bool IsClosed => _closed;

    /// <summary>The loop's tag for this connection's events.</summary>
    public ulong Tag { get; set; }

    /// <summary>Completes once the connection is closed (by the peer, a malformed frame, a drop, or the loop's end).</summary>
    public Task Ended => _ended.Task;

    /// <summary>
    /// An edge on the socket: receives until it is drained and completes every whole reply; false
    /// when the connection ended (the peer closed it, it failed, or it sent a malformed frame, after
    /// which nothing more of it is read) and the loop should close it.
    /// </summary>
    public bool OnEvent(uint events)
    {
        var ended = (events & (EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0;
        var heard = false;
        try
        {
            while (true)
            {
                var room = EnsureRoom();
                nint received;
                fixed (byte* p = &_buffer[_end])
                {
                    received = EpollNative.Receive(Fd, p, room, EpollNative.MsgDontWait);
                }

                if (received < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EpollNative.Eintr)
                    {
                        continue;
                    }

                    return errno == EpollNative.Eagain;
                }

                if (received == 0)
                {
                    return false;
                }

                _end += (int)received;
                heard |= Parse();
                if (received < room && !ended)
                {
                    // Drained: the next bytes bring a new edge. After a hang-up there is no next edge: read to the end.
                    return true;
                }
            }
        }
        catch (InvalidDataException e)
        {
            _client.OnMalformed(e.Message);
            return false;
        }
        finally
        {
            if (heard)
            {
                _client.OnHeard();
            }
        }
    }

    /// <summary>Closes the socket and gives the buffer back (loop thread, or whoever owns the receiver after the loop ended).</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _socket.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _ended.TrySetResult();
    }

    /// <summary>Completes every whole reply in the buffer; true if there was one.</summary>
    private bool Parse()
    {
        var buffer = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
        var any = _client.CompleteReplies(ref buffer);
        _start = _end - (int)buffer.Length;
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > 1024 * 1024)
            {
                // A large value passed through: the connection goes back to a buffer of the usual size.
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
            }
        }

        return any;
    }

    /// <summary>Room to receive into: the unread bytes moved to the front, and the buffer grown to hold the frame they start.</summary>
    private int EnsureRoom()
    {
        if (_buffer.Length - _end >= MinRoom)
        {
            return _buffer.Length - _end;
        }

        var pending = _end - _start;
        var frame = pending >= 4 ? Frame.HeaderSize + (long)BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_start)) : 0;

        // A length beyond the limit fails in Parse once the header is whole; until then room for the header will do.
        var needed = (int)Math.Min(Math.Max(frame, pending), Frame.HeaderSize + (long)Frame.MaxPayload) + MinRoom;
        var target = _buffer;
        if (needed > _buffer.Length)
        {
            target = ArrayPool<byte>.Shared.Rent(needed);
        }

        Buffer.BlockCopy(_buffer, _start, target, 0, pending);
        if (target != _buffer)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = target;
        }

        _start = 0;
        _end = pending;
        return _buffer.Length - _end;
    }
}
