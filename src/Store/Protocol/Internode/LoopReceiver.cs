using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The receive side of an internode connection run by an <see cref="IPeerLoop"/>: the loop receives
/// with non-blocking <c>recv</c> calls on its own thread and hands each batch of whole frames to
/// <see cref="Consume"/>. The socket never joins the runtime's epoll for receiving, so a frame wakes
/// one thread, the loop's. Touched only on the loop's thread (or, once the loop has ended, by
/// whoever closes it); its fd number is used only while the socket is open.
/// </summary>
internal abstract unsafe class LoopReceiver : ILoopConnection
{
    private const int InitialBuffer = 64 * 1024;
    private const int MinRoom = 4096;

    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    private int _closed;
    private int _start;
    private int _end;

    protected LoopReceiver(Socket socket)
    {
        Socket = socket;
        Fd = (int)socket.Handle;
    }

    public int Fd { get; }

    /// <summary>The connection's socket: the runtime's sends may use it; only <see cref="Close"/> disposes it.</summary>
    protected Socket Socket { get; }

    public ulong Tag { get; set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Completes once the connection is closed (by the peer, a malformed frame, a drop, or the loop's end).</summary>
    public Task Ended => _ended.Task;

    /// <summary>
    /// Receives until the socket is drained and consumes every whole frame; false when the connection
    /// ended (the peer closed it, it failed, or it sent a malformed frame, after which nothing more of
    /// it is read).
    /// </summary>
    public bool OnEvent(uint events)
    {
        var ended = (events & (EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0;
        var consumed = false;
        var open = false;
        BeginBatch();
        try
        {
            open = Receive(ended, ref consumed);
        }
        catch (InvalidDataException e)
        {
            OnMalformed(e.Message);
        }
        finally
        {
            open = EndBatch(open, consumed);
        }

        return open;
    }

    /// <summary>Closes the socket and gives the buffer back; idempotent.</summary>
    public void Close()
    {
        // After the loop's end, a drop and an adoption can both close it, from two threads.
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Socket.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _ended.TrySetResult();
    }

    /// <summary>Takes every whole frame from the front of <paramref name="buffer"/>; true if there was one.</summary>
    /// <exception cref="InvalidDataException">A malformed frame: the connection is closed.</exception>
    protected abstract bool Consume(ref ReadOnlySequence<byte> buffer);

    /// <summary>The peer sent a malformed frame (loop thread): counted before the connection is closed.</summary>
    protected abstract void OnMalformed(string reason);

    /// <summary>Nothing to time by default: only a peer client's connection has requests in flight.</summary>
    public virtual bool Ticks => false;

    public virtual void Tick()
    {
    }

    /// <summary>Before an event's receives.</summary>
    protected virtual void BeginBatch()
    {
    }

    /// <summary>After an event's receives, with whether the connection is still <paramref name="open"/>; returns whether it stays open.</summary>
    protected virtual bool EndBatch(bool open, bool consumed) => open;

    private bool Receive(bool ended, ref bool consumed)
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
            consumed |= Parse();
            if (received < room && !ended)
            {
                // Drained: the next bytes bring a new edge. After a hang-up there is no next edge: read to the end.
                return true;
            }
        }
    }

    private bool Parse()
    {
        var buffer = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
        var any = Consume(ref buffer);
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
