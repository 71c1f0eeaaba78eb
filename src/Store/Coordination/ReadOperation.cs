using System.Threading.Tasks.Sources;
using DataPlane.Store.Cluster;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// One quorum read, pooled and reused: it asks R of the key's healthy replicas, the local one first
/// when this node is one (a read without a network hop), and asks another only when one of them
/// fails or times out, is slow (speculative retry), or when the answers disagree. That is still a
/// quorum read: with R + W &gt; N every R replicas share at least one with the W that acknowledged the
/// latest write, so the newest of any R answers is the newest acknowledged value; asking all N only
/// made every read pay for answers it did not wait for. It is Cassandra's read path (ask as many as
/// the consistency level needs, retry speculatively on a slow replica, read the rest on a digest
/// mismatch to repair them) with whole values instead of digests, since values here are small.
/// Read repair is kept: once every replica asked has answered, the stale or missing ones are sent the
/// newest value, and on a disagreement the replicas not asked yet are asked too, so that they are
/// compared and repaired as well.
/// </summary>
/// <remarks>
/// The operation is its own completion (an <see cref="IValueTaskSource{TResult}"/>) and the handler of
/// its peer requests, so a read allocates nothing: no task, closure or answer list. It goes back to
/// the pool when its caller has taken the result and every request it sent has come back.
/// </remarks>
internal sealed partial class ReadOperation : IPeerReplyHandler, IValueTaskSource, IValueTaskSource<ReadOutcome>, IWatchedOperation
{
    /// <summary>A request slower than this many smoothed round trips makes the read ask one more replica.</summary>
    private const int SlowFactor = 4;
    private static readonly TimeSpan MinSlow = TimeSpan.FromMilliseconds(10);

    private readonly ClusterNode _node;
    private readonly Action<ReadOperation> _return;
    private readonly Lock _lock = new();
    private readonly int[] _targets;
    private readonly Status[] _status;
    private readonly ValueVersion[] _versions;
    private readonly bool[] _found;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private Action? _watcher;
    private byte[] _key = new byte[64];
    private byte[] _newest = new byte[256];
    private int _keyLength;
    private int _newestLength;
    private int _count;
    private int _needed;
    private int _answers;
    private int _outstanding;
    private int _extra;
    private int _refs;
    private bool _settled;
    private bool _disagree;
    private bool _finished;

    public ReadOperation(ClusterNode node, Action<ReadOperation> release)
    {
        _node = node;
        _return = release;
        var nodes = node.Placement.Nodes.Count;
        _targets = new int[nodes];
        _status = new Status[nodes];
        _versions = new ValueVersion[nodes];
        _found = new bool[nodes];
    }

    private enum Status : byte
    {
        Skipped,
        Pending,
        Asked,
        Answered,
        Failed,
    }

    private ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);

    private ReadOnlySpan<byte> Newest => _newest.AsSpan(0, _newestLength);

    /// <summary>Completes once the read is decided; then <see cref="WriteReply"/>, once.</summary>
    public ValueTask AsCompletion() => new(this, _core.Version);

    public ValueTask<ReadOutcome> AsOutcome() => new(this, _core.Version);

    /// <summary>Starts the read of <paramref name="key"/>; await it through <see cref="AsCompletion"/> or <see cref="AsOutcome"/>, once.</summary>
    public void Start(ReadOnlySpan<byte> key)
    {
        Grow(ref _key, key.Length);
        key.CopyTo(_key);
        _keyLength = key.Length;
        var placement = _node.Placement;
        var list = placement.PreferenceList(placement.PartitionOf(key));
        _count = list.Length;
        for (var i = 0; i < _count; i++)
        {
            _targets[i] = list[i];
            _status[i] = _node.IsHealthy(list[i]) ? Status.Pending : Status.Skipped;
            _found[i] = false;
        }

        _needed = _node.Options.ReadQuorum;
        _answers = _outstanding = _extra = 0;
        _newestLength = -1;
        _settled = _disagree = _finished = false;
        _watcher = null;
        _refs = 1;
        _core.Reset();
        bool finish;
        Action? decided;
        lock (_lock)
        {
            var local = Array.IndexOf(_targets, _node.Self, 0, _count);
            if (local >= 0 && _status[local] == Status.Pending)
            {
                ReadLocal(local);
            }

            Ask();
            finish = Settle(out decided);
        }

        decided?.Invoke();
        if (finish)
        {
            Finish();
        }
    }

    public bool TryWatch(Action onDecided)
    {
        lock (_lock)
        {
            if (_settled)
            {
                return false;
            }

            _watcher = onDecided;
            return true;
        }
    }

    public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload)
    {
        bool finish;
        Action? decided;
        lock (_lock)
        {
            _outstanding--;
            if (type == FrameType.Value && payload.Length >= 1)
            {
                var found = payload[0] == 1 && payload.Length >= 1 + StoredValue.HeaderSize;
                Record(token, found ? payload[1..] : default, found);
            }
            else
            {
                _status[token] = Status.Failed;
            }

            Ask();
            finish = Settle(out decided);
        }

        decided?.Invoke();
        if (finish)
        {
            Finish();
        }

        Release();
    }

    public void OnFailure(int token, PeerFailure failure)
    {
        bool finish;
        Action? decided;
        lock (_lock)
        {
            _outstanding--;
            _status[token] = Status.Failed;
            Ask();
            finish = Settle(out decided);
        }

        decided?.Invoke();
        if (finish)
        {
            Finish();
        }

        Release();
    }

    /// <summary>Speculative retry: a replica slower than usual is not waited for alone; one more is asked.</summary>
    public void OnSlow(int token)
    {
        lock (_lock)
        {
            if (!_settled && _status[token] == Status.Asked)
            {
                _extra++;
                Ask();
            }
        }
    }

    private void ReadLocal(int index)
    {
        var sessions = _node.Sessions;
        var session = sessions.Rent();
        try
        {
            var found = session.TryReadStored(Key, out var stored);
            Record(index, stored, found);
        }
        catch (IOException)
        {
            _status[index] = Status.Failed;
        }
        finally
        {
            sessions.Return(session);
        }
    }

    /// <summary>Counts one answer, keeps the newest value, and notes whether answers disagree (which is when the rest are asked too).</summary>
    private void Record(int index, ReadOnlySpan<byte> stored, bool found)
    {
        _status[index] = Status.Answered;
        _answers++;
        _found[index] = found;
        if (found)
        {
            _versions[index] = StoredValue.Version(stored);
        }

        for (var i = 0; i < _count; i++)
        {
            if (i != index && _status[i] == Status.Answered && (_found[i] != found || (found && _versions[i] != _versions[index])))
            {
                _disagree = true;
            }
        }

        if (found && (_newestLength < 0 || StoredValue.IsNewer(stored, Newest)))
        {
            Grow(ref _newest, stored.Length);
            stored.CopyTo(_newest);
            _newestLength = stored.Length;
        }
    }

    /// <summary>Asks replicas not asked yet until enough are answering (all of them once answers disagree).</summary>
    private void Ask()
    {
        if (_finished)
        {
            return;
        }

        var wanted = _disagree ? int.MaxValue : _needed + _extra;
        var timeout = _node.Options.RequestTimeout;
        for (var i = 0; i < _count && _answers + _outstanding < wanted; i++)
        {
            if (_status[i] != Status.Pending)
            {
                continue;
            }

            var client = _node.Peer(_targets[i])!.Client;
            _status[i] = Status.Asked;
            _outstanding++;
            Interlocked.Increment(ref _refs);
            var slow = TimeSpan.FromTicks(Math.Max(client.Latency.Ticks * SlowFactor, MinSlow.Ticks));
            if (!client.TrySend(FrameType.Read, -1, Key, default, default, timeout, slow, this, i))
            {
                _status[i] = Status.Failed;
                _outstanding--;
                Interlocked.Decrement(ref _refs);
            }
        }
    }

    /// <summary>Releases the caller once R answered or no more can; true once every replica asked has answered (time for read repair).</summary>
    private bool Settle(out Action? decided)
    {
        decided = null;
        if (!_settled && (_answers >= _needed || _outstanding == 0))
        {
            _settled = true;
            _core.SetResult(true);
            decided = _watcher;
            _watcher = null;
        }

        if (_outstanding == 0 && !_finished)
        {
            _finished = true;
            return true;
        }

        return false;
    }

    private static void Grow(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new byte[Math.Max(length, buffer.Length * 2)];
        }
    }
}
