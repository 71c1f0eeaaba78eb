using System.Threading.Tasks.Sources;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

internal sealed partial class ReadOperation
{
    /// <summary>Read repair, once every replica asked has answered: each that answered with an older version, or without the key, is sent the newest.</summary>
    private void Finish()
    {
        if (_newestLength < 0)
        {
            return;
        }

        var newest = StoredValue.Version(Newest);
        for (var i = 0; i < _count; i++)
        {
            if (_status[i] != Status.Answered || (_found[i] && _versions[i] >= newest))
            {
                continue;
            }

            _node.CountReadRepair();
            if (_targets[i] == _node.Self)
            {
                try
                {
                    _node.Sessions.Merge(Key, Newest);
                }
                catch (IOException)
                {
                    // The local log refused it: the next read repairs it again.
                }
            }
            else
            {
                // A replica that does not take the repair now gets it from the next read.
                _node.Peer(_targets[i])!.Client.TrySend(FrameType.Write, _keyLength, Key, Newest, default, _node.Options.RequestTimeout, TimeSpan.Zero, IgnoredReply.Instance, 0);
            }
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            _return(this);
        }
    }

    private string? Error => _answers >= _needed ? null : $"ERR quorum not reached: {_answers} of {_needed} replicas answered";

    /// <summary>The GET reply: the value's bulk string, a null reply for a missing, deleted or expired key, or the quorum error.</summary>
    byte[] IValueTaskSource<byte[]>.GetResult(short token)
    {
        _core.GetResult(token);
        byte[] reply;
        lock (_lock)
        {
            var error = Error;
            reply = error is not null ? RespReplies.Error(error)
                : _newestLength >= 0 && StoredValue.IsVisible(Newest, _node.Time.GetUtcNow().ToUnixTimeMilliseconds()) ? RespReplies.Bulk(StoredValue.Payload(Newest))
                : RespReplies.Null;
        }

        Release();
        return reply;
    }

    ReadOutcome IValueTaskSource<ReadOutcome>.GetResult(short token)
    {
        _core.GetResult(token);
        ReadOutcome outcome;
        lock (_lock)
        {
            outcome = new ReadOutcome(Error, Error is null && _newestLength >= 0 ? Newest.ToArray() : null);
        }

        Release();
        return outcome;
    }

    ValueTaskSourceStatus IValueTaskSource<byte[]>.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<ReadOutcome>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<byte[]>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<ReadOutcome>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
