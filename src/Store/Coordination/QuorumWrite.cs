using System.Threading.Tasks.Sources;
using DataPlane.Store.Cluster;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// One write, pooled and reused: holds the key and stored value, counts acknowledgements, and is done
/// when <see cref="Needed"/> replicas applied it, or when the replicas still outstanding can no longer
/// make up the difference (so a write that cannot reach its quorum fails at once instead of at its
/// timeout). Its reply waits until this node's log holds its local copy, as a peer's acknowledgement
/// waits for the peer's log. It is the handler of its own peer requests and its own completion, so a
/// write allocates no task, continuation or copy (but for the wait for an fsync, with fsync always); it goes back to the pool once its caller took the result and every
/// replica sent to has answered (a late failure still leaves a hint, which needs the bytes).
/// </summary>
internal sealed class QuorumWrite : IPeerReplyHandler, IValueTaskSource<byte[]>, IValueTaskSource<string?>, IWatchedOperation
{
    private readonly ClusterNode _node;
    private readonly Action<QuorumWrite> _return;
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private Action? _watcher;
    private bool _completed;
    private byte[] _bytes = new byte[256];
    private int _keyLength;
    private int _storedLength;
    private int _acks;
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

    public void Expect()
    {
        lock (_lock)
        {
            _outstanding++;
            _refs++;
        }
    }

    /// <summary>Sends the write to a replica, counted as expected; on no confirmation the replica gets a hint.</summary>
    public void Send(int target)
    {
        Expect();
        if (!_node.Peer(target)!.Client.TrySend(FrameType.Write, _keyLength, Key, Stored, default, _node.Options.RequestTimeout, TimeSpan.Zero, this, target))
        {
            Missed(target);
        }
    }

    /// <summary>Watches for the reply, not the quorum: with the local copy to secure in the log, it comes later.</summary>
    public bool TryWatch(Action onDecided)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            _watcher = onDecided;
            return true;
        }
    }

    public void Ack(bool expected) => Settle(expected, 1);

    /// <summary>
    /// This node applied the write as log record <paramref name="sequence"/>: it counts now, and the
    /// reply waits until the log holds the record (<see cref="Durability.WriteAheadLog.SecureAsync"/>),
    /// so a write acknowledged to the client survives this process being killed.
    /// </summary>
    public void AckLocal(long sequence)
    {
        _localSequence = sequence;
        Settle(false, 1);
    }

    public void Fail(bool expected) => Settle(expected, 0);

    /// <summary>Called once every replica has been sent to: only then can the replicas left be too few.</summary>
    public void Sealed()
    {
        lock (_lock)
        {
            _sealed = true;
        }

        Settle(false, 0);
    }

    public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload)
    {
        if (type == FrameType.Ack)
        {
            Ack(expected: true);
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
        _acks = _outstanding = 0;
        _localSequence = 0;
        _sealed = _done = _logFailed = _completed = false;
        _watcher = null;
        _refs = 1;
        _core.Reset();
        return _bytes.AsSpan(_keyLength, storedLength);
    }

    /// <summary>The replica did not confirm: keep the write for it here, to hand off when it answers again.</summary>
    private void Missed(int target)
    {
        try
        {
            _node.Hints.Add(_node.Placement.Nodes[target], Key, Stored);
        }
        catch (IOException)
        {
            // The hint file refused it: the replica catches up through read repair instead.
        }

        Fail(expected: true);
    }

    private void Settle(bool expected, int ack)
    {
        bool release;
        var complete = false;
        var secure = false;
        lock (_lock)
        {
            _acks += ack;
            if (expected)
            {
                _outstanding--;
            }

            if (!_done && (_acks >= Needed || (_sealed && _acks + _outstanding < Needed)))
            {
                _done = complete = true;
                secure = _acks >= Needed && _localSequence > 0;
            }

            release = expected && --_refs == 0;
        }

        // The caller's reference keeps the write out of the pool until it took the result, so a
        // completion and a release never happen in the same call.
        if (complete)
        {
            Complete(secure);
        }

        if (release)
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
        }
        else
        {
            _ = FinishAsync(secured);
        }
    }

    private async Task FinishAsync(ValueTask<bool> secured) => Finish(await secured.ConfigureAwait(false));

    private void Finish(bool secured)
    {
        _logFailed = !secured;
        SetCompleted();
    }

    /// <summary>
    /// Completes the reply and calls the watcher, if any. Under the lock, so that a watcher is either
    /// taken here or sees the reply complete; the call itself after it, touching nothing of this write,
    /// which a caller that awaited may already have given back to the pool.
    /// </summary>
    private void SetCompleted()
    {
        Action? decided;
        lock (_lock)
        {
            _core.SetResult(true);
            _completed = true;
            decided = _watcher;
            _watcher = null;
        }

        decided?.Invoke();
    }

    private string? TakeError()
    {
        string? error;
        bool release;
        lock (_lock)
        {
            error = _acks < Needed ? $"ERR quorum not reached: {_acks} of {Needed} replicas acknowledged"
                : _logFailed ? "ERR the write-ahead log refused the write; it is not acknowledged"
                : null;
            release = --_refs == 0;
        }

        if (release)
        {
            _return(this);
        }

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
