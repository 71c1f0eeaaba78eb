using System.Buffers;
using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The send side of an internode connection: any thread appends whole frames under a lock into the
/// current buffer; one loop swaps buffers and sends everything gathered meanwhile in one call, so
/// pipelined requests (or replies) share syscalls without a flush per frame. A receive loop that
/// answers a batch of requests holds the outbox <see cref="Cork">corked</see> meanwhile, so the whole
/// batch's replies leave in one send instead of the first alone and the rest after it.
/// </summary>
internal sealed class FrameOutbox
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
            WakeIfPending();
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
    public async ValueTask UncorkAndSendAsync(Socket socket, CancellationToken cancellationToken)
    {
        ArrayBufferWriter<byte> batch;
        lock (_lock)
        {
            _corked--;
            // Whoever ends a cork sends, even while another loop holds one: with two busy loops the count
            // could otherwise stay above zero round after round, and nothing would leave.
            if (_busy || _closed || _filling.WrittenCount == 0)
            {
                WakeIfPending();
                return;
            }

            batch = _filling;
            _filling = _sending;
            _sending = batch;
            _busy = true;
        }

        await SendAsync(socket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends until the socket fails or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(Socket socket, CancellationToken cancellationToken)
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
                    if (_busy || _filling.WrittenCount == 0)
                    {
                        // The inline sender has it: it wakes this loop again if more comes meanwhile.
                        continue;
                    }

                    (_filling, _sending) = (_sending, _filling);
                    _busy = true;
                }

                await SendAsync(socket, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Sends the batch taken into <c>_sending</c> (by whoever set <c>_busy</c>), then hands on what was written meanwhile.</summary>
    private async ValueTask SendAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(_sending.WrittenMemory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (_sending.Capacity > 1024 * 1024)
            {
                _sending = new ArrayBufferWriter<byte>(64 * 1024);
            }
            else
            {
                _sending.ResetWrittenCount();
            }
        }
        finally
        {
            lock (_lock)
            {
                _busy = false;
                WakeIfPending();
            }
        }
    }

    private void WakeIfPending()
    {
        if (_corked == 0 && !_signalled && !_busy && _filling.WrittenCount > 0)
        {
            _signalled = true;
            _signal.Set();
        }
    }
}
