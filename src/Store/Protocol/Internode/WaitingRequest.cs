using System.Buffers;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// A request that found every in-flight slot of its peer taken: its payload is copied into a pooled
/// buffer (the caller's span is gone once <see cref="PeerClient.TrySend"/> returns), with its absolute
/// deadline, so that the time it waits for a slot counts towards its timeout.
/// </summary>
internal readonly struct WaitingRequest
{
    /// <summary>
    /// The payloads' own pool: a peer that falls behind has thousands of requests waiting, far more
    /// buffers of one size than the shared pool keeps (which then allocated one per request). Payloads
    /// up to 4 KB only (writes of small values, reads); a larger one is allocated. What it keeps once is
    /// kept: up to 4096 buffers per size class.
    /// </summary>
    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(4096, 4096);

    private readonly byte[] _buffer;
    private readonly int _length;

    public WaitingRequest(FrameType type, int keyLength, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2, ReadOnlySpan<byte> part3, long deadline, long slowAt, IPeerReplyHandler handler, int token)
    {
        _length = part1.Length + part2.Length + part3.Length;
        _buffer = Buffers.Rent(_length);
        part1.CopyTo(_buffer);
        part2.CopyTo(_buffer.AsSpan(part1.Length));
        part3.CopyTo(_buffer.AsSpan(part1.Length + part2.Length));
        Type = type;
        KeyLength = keyLength;
        Deadline = deadline;
        SlowAt = slowAt;
        Handler = handler;
        Token = token;
    }

    public FrameType Type { get; }

    public int KeyLength { get; }

    /// <summary>When it fails with a timeout, in <see cref="TimeProvider"/> timestamp ticks.</summary>
    public long Deadline { get; }

    /// <summary>When its handler hears it is slow (0: never, or heard already), in timestamp ticks.</summary>
    public long SlowAt { get; init; }

    public IPeerReplyHandler Handler { get; }

    public int Token { get; }

    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(0, _length);

    /// <summary>Gives the payload's buffer back; once, when the request was sent or failed.</summary>
    public void Release() => Buffers.Return(_buffer);
}
