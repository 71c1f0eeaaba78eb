using System.Buffers;
using System.Threading.Tasks.Sources;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Protocol.Resp;
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

    /// <summary>
    /// Writes the GET reply into <paramref name="output"/> (the value's bulk string, a null reply for a
    /// missing, deleted or expired key, or the quorum error) and gives the operation up: called once,
    /// after <see cref="AsCompletion"/> completed. Straight into the client's output, so a GET
    /// allocates no reply array.
    /// </summary>
    public void WriteReply(IBufferWriter<byte> output)
    {
        lock (_lock)
        {
            if (Error is { } error)
            {
                output.WriteError(error);
            }
            else if (_newestLength >= 0 && StoredValue.IsVisible(Newest, _node.Time.GetUtcNow().ToUnixTimeMilliseconds()))
            {
                output.WriteBulk(StoredValue.Payload(Newest));
            }
            else
            {
                output.Write(RespReplies.Null);
            }
        }

        Release();
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

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

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<ReadOutcome>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<ReadOutcome>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
