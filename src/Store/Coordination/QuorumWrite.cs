using System.Threading.Tasks.Sources;
using DataPlane.Store.Cluster;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// One write, pooled and reused: holds the key and stored value, counts acknowledgements, and is done
/// when <see cref="Needed"/> replicas applied it, or when the replicas still outstanding can no longer
/// make up the difference (so a write that cannot reach its quorum fails at once instead of at its
/// timeout). It is the handler of its own peer requests and its own completion, so a write allocates
/// no task, continuation or copy; it goes back to the pool once its caller took the result and every
/// replica sent to has answered (a late failure still leaves a hint, which needs the bytes).
/// </summary>
internal sealed class QuorumWrite : IPeerReplyHandler, IValueTaskSource<byte[]>, IValueTaskSource<string?>, IWatchedOperation
{
    private readonly ClusterNode _node;
    private readonly Action<QuorumWrite> _return;
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private Action? _watcher;
    private byte[] _bytes = new byte[256];
    private int _keyLength;
    private int _storedLength;
    private int _acks;
    private int _outstanding;
    private int _refs;
    private bool _sealed;
    private bool _done;

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

    public bool TryWatch(Action onDecided)
    {
        lock (_lock)
        {
            if (_done)
            {
                return false;
            }

            _watcher = onDecided;
            return true;
        }
    }

    public void Ack(bool expected) => Settle(expected, 1);

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
        _sealed = _done = false;
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
        Action? decided = null;
        lock (_lock)
        {
            _acks += ack;
            if (expected)
            {
                _outstanding--;
            }

            if (!_done && (_acks >= Needed || (_sealed && _acks + _outstanding < Needed)))
            {
                _done = true;
                _core.SetResult(true);
                decided = _watcher;
                _watcher = null;
            }

            release = expected && --_refs == 0;
        }

        // Before a release: the watcher's client still holds its reference, so the write is not reused yet.
        decided?.Invoke();
        if (release)
        {
            _return(this);
        }
    }

    private string? TakeError()
    {
        string? error;
        bool release;
        lock (_lock)
        {
            error = _acks >= Needed ? null : $"ERR quorum not reached: {_acks} of {Needed} replicas acknowledged";
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
