using System.Buffers;
using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The send side of an internode connection: any thread appends whole frames under a lock into the
/// current buffer; one loop swaps buffers and sends everything gathered meanwhile in one call, so
/// pipelined requests (or replies) share syscalls without a flush per frame. A receive loop that
/// answers a batch of requests holds the outbox <see cref="Cork">corked</see> meanwhile, so the whole
/// batch's replies leave in one send instead of the first alone and the rest after it. An event
/// loop sends from its own thread instead (see FrameOutbox.Loop.cs).
/// </summary>
/// <param name="socket">The connection's socket.</param>
/// <param name="onSendFailed">Called once when a send fails (any thread): the connection is to be dropped.</param>
internal sealed partial class FrameOutbox(Socket socket, Action? onSendFailed = null)
{
    private readonly Lock _lock = new();
    private readonly OutboxSignal _signal = new();
    private ArrayBufferWriter<byte> _filling = new(64 * 1024);
    private ArrayBufferWriter<byte> _sending = new(64 * 1024);
    private bool _signalled;
    private bool _closed;
    private int _corked;
    private bool _busy;

    /// <summary>Appends a frame whose payload is the concatenation of the parts; false when the outbox is closed.</summary>
    public bool Write(FrameType type, ulong requestId, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2 = default, ReadOnlySpan<byte> part3 = default) =>
        Write(type, requestId, -1, part1, part2, part3);

    /// <summary>As the other overload, with the payload starting with <paramref name="prefix"/> as a u32 when it is not negative (a key's length).</summary>
    public bool Write(FrameType type, ulong requestId, int prefix, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2, ReadOnlySpan<byte> part3)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            var head = prefix >= 0 ? 4 : 0;
            var length = head + part1.Length + part2.Length + part3.Length;
            var span = _filling.GetSpan(Frame.HeaderSize + length);
            Frame.WriteHeader(span, type, requestId, length);
            if (prefix >= 0)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(span[Frame.HeaderSize..], (uint)prefix);
            }

            var at = Frame.HeaderSize + head;
            part1.CopyTo(span[at..]);
            part2.CopyTo(span[(at + part1.Length)..]);
            part3.CopyTo(span[(at + part1.Length + part2.Length)..]);
            _filling.Advance(Frame.HeaderSize + length);
            if (t_round is { } round)
            {
                JoinRound(round);
            }
            else
            {
                WakeIfPending();
            }

            return true;
        }
    }

    /// <summary>Holds back the send of frames written from now until <see cref="UncorkAndSendAsync"/>.</summary>
    public void Cork()
    {
        lock (_lock)
        {
            _corked++;
        }
    }

    /// <summary>
    /// Ends a <see cref="Cork"/> and, unless a send is in progress, sends what was written meanwhile
    /// from the caller's thread: a receive loop answering a batch saves the sending loop's wake-up
    /// (a thread-pool hop, which costs more than the send on a small machine).
    /// </summary>
    public async ValueTask UncorkAndSendAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _corked--;
            if (!TryTake(fromRound: false))
            {
                return;
            }
        }

        await SendAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends until the socket fails or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = cancellationToken.UnsafeRegister(static signal => ((OutboxSignal)signal!).Set(), _signal);
        try
        {
            while (true)
            {
                await _signal.WaitAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                lock (_lock)
                {
                    _signalled = false;
                    if (_closed)
                    {
                        return;
                    }

                    if (!TryTake(fromRound: false))
                    {
                        // Another sender has it (or a cork or a round holds it back): it wakes this loop again if more comes meanwhile.
                        continue;
                    }
                }

                if (!await SendAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                _closed = true;
            }
        }
    }

    /// <summary>
    /// Sends the batch taken into <c>_sending</c> (by whoever set <c>_busy</c>), then hands on what was written
    /// meanwhile; a failed or cancelled send (part of a frame may be on the wire) closes the outbox and drops
    /// the connection: false then.
    /// </summary>
    private async ValueTask<bool> SendAsync(CancellationToken cancellationToken)
    {
        var failed = true;
        try
        {
            await socket.SendAsync(_sending.WrittenMemory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            RecycleSent();
            failed = false;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // EndSend reports it.
        }
        finally
        {
            EndSend(failed);
        }

        return !failed;
    }

    /// <summary>Empties the sent batch's buffer for reuse (by whoever holds <c>_busy</c>); a large one is let go.</summary>
    private void RecycleSent()
    {
        if (_sending.Capacity > 1024 * 1024)
        {
            _sending = new ArrayBufferWriter<byte>(64 * 1024);
        }
        else
        {
            _sending.ResetWrittenCount();
        }
    }

    private void WakeIfPending()
    {
        if (_corked == 0 && !_signalled && !_busy && !_closed && _rounds == 0 && _filling.WrittenCount > 0)
        {
            _signalled = true;
            _signal.Set();
        }
    }
}
