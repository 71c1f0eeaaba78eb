using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Cluster;

/// <summary>
/// The requests of one handoff in flight to a peer, as a sliding window: the sender keeps up to
/// <see cref="Window"/> hints unacknowledged and, once the window is full, waits only until half of
/// it is acknowledged before sending on, so the peer always has work queued while acknowledgements
/// come back. It is the handler of every request it sends (no task or continuation per hint) and the
/// hint's bytes are copied into the connection's outbox by the send, so a hint costs no allocation;
/// a wait for room costs one task, per half window. The window also holds at most
/// <see cref="MaxBytesInFlight"/> of keys and values. A refusal or a lost request marks the delivery
/// failed: the sender stops, and the file stays for the next attempt.
/// </summary>
internal sealed class HintDelivery(PeerClient client, TimeSpan timeout) : IPeerReplyHandler
{
    /// <summary>
    /// Hints in flight at most. Unthrottled on the bench machine (2 cores, loopback, 400,000 hints, a
    /// noisy run), windows of 256 awaited whole delivered about 120,000/s at 2.5 us of the sender's CPU a
    /// hint; a sliding window of 256 about the same, of 1,024 about 156,000/s at 1.6 us, of 2,048 and
    /// 4,096 about 165,000-170,000/s at 1.2-1.4 us: the peer answers a batch per wake-up, and a deeper
    /// window keeps it fed. 1,024 takes most of that and a quarter of the peer's in-flight limit
    /// (<see cref="ClusterOptions.MaxInFlightPerPeer"/>, 4,096 by default), which clients' writes share.
    /// </summary>
    public const int Window = 1024;

    /// <summary>
    /// Bytes of keys and values in flight at most (a hint larger than this goes alone): values may be
    /// up to 32 MiB, and 1,024 of them would be 32 GiB in the connection's outbox and the peer's inbox.
    /// 16 MiB is 1,024 hints of 16 KiB, more than a window of the common small values needs.
    /// </summary>
    public const long MaxBytesInFlight = 16L << 20;

    private int _inFlight;
    private long _bytesInFlight;
    private int _wanted;
    private long _wantedBytes;
    private int _failed;
    private TaskCompletionSource? _room;

    /// <summary>Whether a hint was refused or got no answer.</summary>
    public bool Failed => Volatile.Read(ref _failed) != 0;

    /// <summary>Keys and values sent and not yet answered.</summary>
    public long BytesInFlight => Interlocked.Read(ref _bytesInFlight);

    /// <summary>Sends a hint (its bytes copied before this returns); false when there is no connection.</summary>
    public bool TrySend(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        // The request's token is the hint's size (a key and value fit an int): the answer gives it back to count off.
        var size = key.Length + stored.Length;
        Interlocked.Add(ref _bytesInFlight, size);
        Interlocked.Increment(ref _inFlight);
        if (client.TrySend(FrameType.Write, key.Length, key, stored, default, timeout, TimeSpan.Zero, this, size))
        {
            return true;
        }

        Settle(ok: false, size);
        return false;
    }

    /// <summary>
    /// Completes when there is room for a hint of <paramref name="size"/> bytes: at once while the window
    /// is not full and the bytes would stay within <see cref="MaxBytesInFlight"/>, else once half of the
    /// window (or of the bytes, or all of them for a hint that large) is acknowledged.
    /// </summary>
    public ValueTask WaitForRoomAsync(int size, CancellationToken cancellationToken)
    {
        var bytes = Interlocked.Read(ref _bytesInFlight);
        var bytesFull = bytes > 0 && bytes + size > MaxBytesInFlight;
        var full = Volatile.Read(ref _inFlight) >= Window;
        return !full && !bytesFull
            ? ValueTask.CompletedTask
            : WaitUntilAsync(full ? Window / 2 : int.MaxValue, bytesFull ? Math.Max(0, Math.Min(MaxBytesInFlight / 2, MaxBytesInFlight - size)) : long.MaxValue, cancellationToken);
    }

    /// <summary>Completes when every hint sent has been answered (each request ends at its timeout at the latest).</summary>
    public ValueTask DrainAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _inFlight) == 0 ? ValueTask.CompletedTask : WaitUntilAsync(0, 0, cancellationToken);

    public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload) => Settle(type == FrameType.Ack, token);

    public void OnFailure(int token, PeerFailure failure) => Settle(ok: false, token);

    public void OnSlow(int token)
    {
        // Sent with no slow threshold: a hint waits for its answer or its timeout.
    }

    /// <summary>
    /// On the connection's receive loop or the peer's sweep: counts the answer and wakes the sender if it
    /// waits and the window has come down to what it wants. The decrements and the sender's publication of
    /// its wait are all full fences, so either the sender sees the window low or this sees the waiter; the
    /// bytes are counted off before the hint, so whoever counts off the last hint sees every byte gone.
    /// </summary>
    private void Settle(bool ok, int size)
    {
        if (!ok)
        {
            Volatile.Write(ref _failed, 1);
        }

        Interlocked.Add(ref _bytesInFlight, -size);
        if (Interlocked.Decrement(ref _inFlight) <= Volatile.Read(ref _wanted)
            && Interlocked.Read(ref _bytesInFlight) <= Interlocked.Read(ref _wantedBytes)
            && Volatile.Read(ref _room) is not null)
        {
            Interlocked.Exchange(ref _room, null)?.TrySetResult();
        }
    }

    private bool Within(int most, long mostBytes) => Volatile.Read(ref _inFlight) <= most && Interlocked.Read(ref _bytesInFlight) <= mostBytes;

    private async ValueTask WaitUntilAsync(int most, long mostBytes, CancellationToken cancellationToken)
    {
        while (!Within(most, mostBytes))
        {
            var room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _wanted, most);
            Interlocked.Exchange(ref _wantedBytes, mostBytes);
            Interlocked.Exchange(ref _room, room);
            if (Within(most, mostBytes))
            {
                Interlocked.CompareExchange(ref _room, null, room);
                return;
            }

            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
