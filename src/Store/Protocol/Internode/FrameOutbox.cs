using System.Buffers;
using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The send side of an internode connection: any thread appends whole frames under a lock into the
/// current buffer; one loop swaps buffers and sends everything gathered meanwhile in one call, so
/// pipelined requests (or replies) share syscalls without a flush per frame.
/// </summary>
internal sealed class FrameOutbox : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private ArrayBufferWriter<byte> _filling = new(64 * 1024);
    private ArrayBufferWriter<byte> _sending = new(64 * 1024);
    private bool _signalled;
    private bool _closed;

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
            if (!_signalled)
            {
                _signalled = true;
                _signal.Release();
            }

            return true;
        }
    }

    /// <summary>Sends until the socket fails or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    (_filling, _sending) = (_sending, _filling);
                    _signalled = false;
                }

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
        }
        finally
        {
            lock (_lock)
            {
                _closed = true;
            }
        }
    }

    public void Dispose() => _signal.Dispose();
}
