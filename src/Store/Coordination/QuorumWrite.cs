using System.Buffers.Binary;
using System.Text;
using System.Threading.Tasks.Sources;
using DataPlane.Store.Cluster;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// One write, pooled and reused: holds the key and stored value, counts acknowledgements, and is done
/// when <see cref="Needed"/> replicas applied it, or when the replicas still outstanding can no longer
/// make up the difference (so a write that cannot reach its quorum fails at once instead of at its
/// timeout). When this node's own copy counts towards the quorum, the reply waits until this node's log
/// holds it, as a peer's acknowledgement waits for the peer's log; acknowledgements of W peers decide it
/// without (each held in its peer's log), which can happen only before <see cref="Sealed"/>. It is the handler of its own peer requests and its own completion, so a
/// write allocates no task, continuation or copy (but for the wait for an fsync, with fsync always); it goes back to the pool once its caller took the result and every
/// replica sent to has answered (a late failure still leaves a hint, which needs the bytes). The
/// lock is taken once for the coordinator's own steps (<see cref="Sealed"/>) and once per answer; the
/// watch, the completion's hand-over and the caller's taking of the result take none.
/// </summary>
internal sealed class QuorumWrite : IPeerReplyHandler, IValueTaskSource<byte[]>, IValueTaskSource<string?>, IWatchedOperation
{
    /// <summary>Stands in for the watcher once the reply is decided: a watch then says so.</summary>
    private static readonly Action Decided = static () => { };

    private readonly ClusterNode _node;
    private readonly Action<QuorumWrite> _return;
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private Action? _watcher;
    private byte[] _bytes = new byte[256];
    private int _keyLength;
    private int _storedLength;
    private int _acks;
    private int _acksDecided;
    private int _outstanding;
    private int _refs;
    private long _localSequence;
    private bool _sealed;
    private bool _done;
    private bool _logFailed;

    public QuorumWrite(ClusterNode node, Action<QuorumWrite> release)
    {
        _node = node;
        _return = release;
    }

    public int Needed { get; private set; }

    public ReadOnlySpan<byte> Key => _bytes.AsSpan(0, _keyLength);

    public ReadOnlySpan<byte> Stored => _bytes.AsSpan(_keyLength, _storedLength);

    public ValueTask<byte[]> AsReply() => new(this, _core.Version);

    public ValueTask<string?> AsError() => new(this, _core.Version);

    /// <summary>Takes the key and a stored value whose header is written here, versioned by this node's clock.</summary>
    public void Prepare(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, bool tombstone, long expiresAtMs)
    {
        var stored = Reset(key, StoredValue.HeaderSize + payload.Length);
        StoredValue.WriteHeader(stored, new ValueVersion(_node.Replica.Clock.Next(), _node.Replica.Settings.NodeId), tombstone, expiresAtMs);
        payload.CopyTo(stored[StoredValue.HeaderSize..]);
    }

    /// <summary>Takes the key and a whole stored value.</summary>
    public void Prepare(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored) => stored.CopyTo(Reset(key, stored.Length));

    /// <summary>
    /// Before the write starts (nothing answers yet): expects <paramref name="requests"/> answers at once
    /// rather than taking the lock for each send; <see cref="Sealed"/> gives back those never sent.
    /// </summary>
    public void Reserve(int requests)
    {
        _outstanding = requests;
        _refs = 1 + requests;
    }

    /// <summary>
    /// Sends the write to a replica, one of the <see cref="Reserve">reserved</see> requests, as sent at
    /// <paramref name="now"/> (one clock read for all the replicas); on no confirmation the replica gets a hint.
    /// </summary>
    public void Send(int target, long now)
    {
        if (!_node.Peer(target)!.Client.TrySend(FrameType.Write, _keyLength, Key, Stored, default, _node.Options.RequestTimeout, TimeSpan.Zero, this, target, now))
        {
            Missed(target);
        }
    }

    /// <summary>
    /// Sends the write to <paramref name="holder"/> as a hint for replica <paramref name="target"/>, which is down
    /// (sloppy quorum), one of the <see cref="Reserve">reserved</see> requests: the holder's acknowledgement counts
    /// toward W as the replica's would, and without one this node keeps the hint itself. This write is the
    /// request's handler, as for <see cref="Send"/>, so a hint allocates nothing; the frame is what the holder
    /// reads: the target's name after a byte of its length, the key's length, the key and the stored value
    /// (a name is at most <see cref="ClusterOptions.MaxNameLength"/>: the options and membership check every one).
    /// </summary>
    public void SendHint(int holder, int target, long now)
    {
        var name = _node.Placement.Nodes[target];
        Span<byte> head = stackalloc byte[1 + ClusterOptions.MaxNameLength + 4];
        var nameLength = Encoding.ASCII.GetBytes(name, head[1..]);
        head[0] = (byte)nameLength;
        BinaryPrimitives.WriteUInt32LittleEndian(head[(1 + nameLength)..], (uint)_keyLength);
        if (!_node.Peer(holder)!.Client.TrySend(FrameType.Hint, -1, head[..(1 + nameLength + 4)], Key, Stored, _node.Options.RequestTimeout, TimeSpan.Zero, this, target, now))
        {
            Missed(target);
        }
    }

    /// <summary>Watches for the reply, not the quorum: with the local copy to secure in the log, it comes later.</summary>
    public bool TryWatch(Action onDecided)
    {
        while (true)
        {
            var watcher = Volatile.Read(ref _watcher);
            if (ReferenceEquals(watcher, Decided))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _watcher, onDecided, watcher) == watcher)
            {
                return true;
            }
        }
    }

    /// <summary>A reserved request was answered with an acknowledgement (a hint kept elsewhere).</summary>
    public void Ack() => Settle(1);

    /// <summary>A reserved request failed.</summary>
    public void Fail() => Settle(0);

    /// <summary>
    /// Called once every replica has been sent to (only then can the replicas left be too few), with
    /// what this node did itself: <paramref name="localAcks"/> acknowledgements (its copy, or a hint it
    /// keeps), the log record of its copy (0: none) and the <see cref="Reserve">reserved</see> requests
    /// never sent. With a local copy the reply waits until this node's log holds the record
    /// (<see cref="Durability.WriteAheadLog.SecureAsync"/>), so a write acknowledged to the client
    /// survives this process being killed.
    /// </summary>
    public void Sealed(int localAcks, long localSequence, int unsent)
    {
        bool complete;
        bool secure;
        lock (_lock)
        {
            _sealed = true;
            _acks += localAcks;
            _localSequence = localSequence;
            _outstanding -= unsent;
            complete = Decide(out secure);
        }

        // The caller's reference stays (it does not have the write yet): this cannot be the last one.
        Interlocked.Add(ref _refs, -unsent);
        if (complete)
        {
            Complete(secure);
        }
    }

    public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload)
    {
        if (type == FrameType.Ack)
        {
            Ack();
        }
        else
        {
            Missed(token);
        }
    }

    public void OnFailure(int token, PeerFailure failure) => Missed(token);

    public void OnSlow(int token)
    {
        // A write waits for its W acknowledgements; a slow replica gets its hint only if it never confirms.
    }

    private Span<byte> Reset(ReadOnlySpan<byte> key, int storedLength)
    {
        if (_bytes.Length < key.Length + storedLength)
        {
            _bytes = new byte[Math.Max(key.Length + storedLength, _bytes.Length * 2)];
        }

        key.CopyTo(_bytes);
        _keyLength = key.Length;
        _storedLength = storedLength;
        Needed = _node.Options.WriteQuorum;
        _acks = _acksDecided = _outstanding = 0;
        _localSequence = 0;
        _sealed = _done = _logFailed = false;
        _watcher = null;
        _refs = 1;
        _core.Reset();
        return _bytes.AsSpan(_keyLength, storedLength);
    }

    /// <summary>The replica, or the holder of its hint, did not confirm: keep the write for the replica here, to hand off when it answers again.</summary>
    private void Missed(int target)
    {
        try
        {
            // Refused by the disk: the replica catches up through read repair and anti-entropy instead.
            _node.Hints.Keep(_node.Placement.Nodes[target], Key, Stored);
        }
        finally
        {
            // Even past a bug in the hint store: the request's answer (and the write's reference) is given back.
            Fail();
        }
    }

    /// <summary>One reserved request answered (<paramref name="ack"/> 1 for an acknowledgement).</summary>
    private void Settle(int ack)
    {
        if (Volatile.Read(ref _done))
        {
            // Decided already (with W=2 of 3, the usual last answer): nothing left to count, only the reference to give back.
            Release();
            return;
        }

        bool complete;
        bool secure;
        lock (_lock)
        {
            _acks += ack;
            _outstanding--;
            complete = Decide(out secure);
        }

        // The request's reference goes only after the completion: until then the caller, which may take
        // the result as soon as it is set, cannot be the last to let go, so the write is not reused under it.
        if (complete)
        {
            Complete(secure);
        }

        Release();
    }

    /// <summary>Under the lock: true the first time enough replicas acknowledged, or too few still can.</summary>
    private bool Decide(out bool secure)
    {
        secure = false;
        if (_done || !(_acks >= Needed || (_sealed && _acks + _outstanding < Needed)))
        {
            return false;
        }

        _done = true;
        _acksDecided = _acks;
        secure = _acks >= Needed && _localSequence > 0;
        return true;
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            _return(this);
        }
    }

    private void Complete(bool secure)
    {
        if (!secure)
        {
            SetCompleted();
            return;
        }

        var secured = _node.Replica.Wal.SecureAsync(_localSequence);
        if (secured.IsCompletedSuccessfully)
        {
            Finish(secured.Result);
            return;
        }

        // Completed later, on another thread: a reference of its own keeps the write until then.
        Interlocked.Increment(ref _refs);
        _ = FinishAsync(secured);
    }

    private async Task FinishAsync(ValueTask<bool> secured)
    {
        var result = false;
        try
        {
            result = await secured.ConfigureAwait(false);
        }
        finally
        {
            Finish(result);
            Release();
        }
    }

    private void Finish(bool secured)
    {
        _logFailed = !secured;
        SetCompleted();
    }

    /// <summary>
    /// Completes the reply, then takes the watcher, if any, leaving <see cref="Decided"/> in its place,
    /// so that a watch from then on sees the reply complete. Whoever calls this holds a reference, so
    /// the write is not back in the pool (and watched for another client) before the watcher is taken.
    /// </summary>
    private void SetCompleted()
    {
        _core.SetResult(true);
        Interlocked.Exchange(ref _watcher, Decided)?.Invoke();
    }

    /// <summary>The caller takes the result, once: the figures of the decision, which late answers do not change.</summary>
    private string? TakeError()
    {
        var acks = _acksDecided;
        var error = acks < Needed ? $"ERR quorum not reached: {acks} of {Needed} replicas acknowledged"
            : _logFailed ? "ERR the write-ahead log refused the write; it is not acknowledged"
            : null;
        Release();
        return error;
    }

    byte[] IValueTaskSource<byte[]>.GetResult(short token)
    {
        _core.GetResult(token);
        var error = TakeError();
        return error is null ? RespReplies.Ok : RespReplies.Error(error);
    }

    string? IValueTaskSource<string?>.GetResult(short token)
    {
        _core.GetResult(token);
        return TakeError();
    }

    ValueTaskSourceStatus IValueTaskSource<byte[]>.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<string?>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<byte[]>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<string?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
