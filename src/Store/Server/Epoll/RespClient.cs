using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;
using DataPlane.Store.Coordination;

namespace DataPlane.Store.Server.Epoll;

/// <summary>
/// One client of a <see cref="RespLoop"/>, touched only on the loop's thread. Its socket is
/// registered edge-triggered, so the client remembers what the last edge said: it receives until a
/// receive comes back short (the socket is drained) and sends until the kernel takes no more. While
/// replies are unsent or wait for the log it receives nothing, so what it buffers is bounded by one
/// receive buffer's commands, as on the socket path; the receive buffer grows only as bytes arrive.
/// On a cluster node the commands it received run through the coordinator, all in flight together;
/// the thread that decides the first unwritten reply's operation hands the client back to the loop
/// (<see cref="RespLoop.OnRepliesDecided"/>), which writes every reply decided by then, in order,
/// and sends them once all are written, as the socket path flushes once per batch.
/// </summary>
internal sealed unsafe class RespClient : IDisposable
{
    private readonly RespLoop _loop;
    private readonly Socket _socket;
    private readonly int _fd;
    private readonly int _slot;
    private readonly RespConnection _connection;
    private readonly Action _onDurable;
    private readonly Action _onDecided;
    private readonly ClusterCommands? _clustered;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(RespConnection.ReceiveChunk);
    private int _start;
    private int _end;
    private int _sent;
    private bool _readable;
    private bool _peerEnded;
    private bool _sendBlocked;
    private bool _held;
    private bool _awaitingReplies;
    private bool _closeAfterSend;
    private bool _closed;
    private Task? _durable;

    public RespClient(RespLoop loop, Socket socket, long id, int slot, uint generation)
    {
        _loop = loop;
        _socket = socket;
        _fd = (int)socket.Handle;
        _slot = slot;
        Id = id;
        Generation = generation;
        _connection = new RespConnection(loop.Context, id);
        _onDurable = () => _loop.OnDurable(this);
        _onDecided = () => _loop.OnRepliesDecided(this);
        _clustered = loop.Context.ClusterCommands;
    }

    public long Id { get; }

    /// <summary>Tells this client's events from those of an earlier client in the same slot.</summary>
    public uint Generation { get; }

    /// <summary>An edge on the socket: send what waits if it may go now, then receive and execute.</summary>
    public void OnEvent(uint events)
    {
        if ((events & (EpollNative.EpollIn | EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            _readable = true;
        }

        if ((events & (EpollNative.EpollRdHup | EpollNative.EpollHup | EpollNative.EpollErr)) != 0)
        {
            // No edge follows the FIN: receive until it is seen, even after a short receive.
            _peerEnded = true;
        }

        if (_sendBlocked && (events & (EpollNative.EpollOut | EpollNative.EpollHup | EpollNative.EpollErr)) != 0 && !Send())
        {
            return;
        }

        Pump();
    }

    /// <summary>The log holds this client's writes now: send their replies and go on.</summary>
    public void ReleaseHeld()
    {
        if (_closed)
        {
            return;
        }

        _held = false;
        if (Send())
        {
            Pump();
        }
    }

    /// <summary>The fsync covering this client's writes completed (or failed: then it is dropped unanswered).</summary>
    public void OnDurable()
    {
        var durable = _durable;
        _durable = null;
        if (_closed)
        {
            return;
        }

        if (durable is null || !durable.IsCompletedSuccessfully)
        {
            Close();
            return;
        }

        ReleaseHeld();
    }

    /// <summary>The operation of the first unwritten reply is decided: write what is decided, and go on once all are sent.</summary>
    public void OnRepliesDecided()
    {
        if (!_closed && _awaitingReplies && WriteClusterReplies(_clustered!))
        {
            Pump();
        }
    }

    public void Dispose() => Close();

    /// <summary>Closes the socket (so epoll forgets it) and gives back everything the client held.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _socket.Dispose();
        _connection.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _loop.Release(_slot);
        _loop.Context.Stats.Closed();
    }

    /// <summary>Receives and executes until the socket is drained, a reply cannot go out yet, or the client is gone.</summary>
    private void Pump()
    {
        while (_readable && !_held && !_awaitingReplies && !_sendBlocked && !_closed)
        {
            if (_buffer.Length - _end < RespConnection.MinReceive && !RespConnection.MakeRoom(ref _buffer, ref _start, ref _end))
            {
                _connection.RefuseTooLarge();
                _closeAfterSend = true;
                Send();
                return;
            }

            var room = _buffer.Length - _end;
            nint received;
            fixed (byte* p = &_buffer[_end])
            {
                received = EpollNative.Receive(_fd, p, room, 0);
            }

            if (received < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eagain)
                {
                    _readable = false;
                }
                else if (errno != EpollNative.Eintr)
                {
                    Close();
                }

                continue;
            }

            if (received == 0)
            {
                // The client's FIN: what it sent before was executed and answered; nothing is owed.
                Close();
                return;
            }

            if (received < room && !_peerEnded)
            {
                // Drained: the next bytes bring a new edge.
                _readable = false;
            }

            _end += (int)received;
            Execute();
        }
    }

    private void Execute()
    {
        if (_clustered is not null)
        {
            _closeAfterSend |= _connection.StartReceived(_clustered, _buffer, ref _start, _end);
            WriteClusterReplies(_clustered);
            return;
        }

        var before = _connection.LastSequence;
        _closeAfterSend |= _connection.ExecuteReceived(_buffer, ref _start, _end);
        RespConnection.RewindIfEmpty(ref _buffer, ref _start, ref _end);

        var last = _connection.LastSequence;
        if (last == before)
        {
            Send();
            return;
        }

        _held = true;
        if (_loop.Context.Options.Fsync != FsyncMode.Always)
        {
            _loop.HoldForLog(this);
            return;
        }

        var durable = _loop.Context.Replica.Wal.WaitDurableAsync(last);
        if (durable.IsCompletedSuccessfully)
        {
            _held = false;
            Send();
            return;
        }

        _durable = durable;
        durable.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onDurable);
    }

    /// <summary>
    /// Writes the started commands' replies as far as they are decided, runs a command that waited for
    /// them (and starts those after it), and sends once every reply is written; false while one is
    /// undecided (the loop calls back), when the client closed, or when the kernel took only part.
    /// </summary>
    private bool WriteClusterReplies(ClusterCommands commands)
    {
        while (true)
        {
            RespConnection.RewindIfEmpty(ref _buffer, ref _start, ref _end);
            if (!_connection.WriteDecidedReplies(_onDecided))
            {
                _awaitingReplies = true;
                return false;
            }

            if (!_connection.WaitsToDrain || _closeAfterSend)
            {
                break;
            }

            _closeAfterSend |= _connection.StartReceived(commands, _buffer, ref _start, _end);
        }

        _awaitingReplies = false;
        return Send();
    }

    /// <summary>Sends what the replies hold; false if the client closed or the kernel took only part of it.</summary>
    private bool Send()
    {
        var replies = _connection.Replies;
        var pending = replies.WrittenCount - _sent;
        while (pending > 0)
        {
            nint sent;
            fixed (byte* p = &MemoryMarshal.GetReference(replies.WrittenMemory.Span[_sent..]))
            {
                sent = EpollNative.Send(_fd, p, pending, EpollNative.MsgNoSignal | EpollNative.MsgDontWait);
            }

            if (sent < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eagain)
                {
                    _sendBlocked = true;
                    return false;
                }

                if (errno != EpollNative.Eintr)
                {
                    Close();
                    return false;
                }

                continue;
            }

            _sent += (int)sent;
            pending -= (int)sent;
        }

        _sendBlocked = false;
        _sent = 0;
        replies.Clear();
        if (_closeAfterSend)
        {
            // As Redis after QUIT or a protocol error: the replies are out, then the FIN.
            EpollNative.Shutdown(_fd, EpollNative.ShutWrite);
            Close();
            return false;
        }

        return true;
    }
}
