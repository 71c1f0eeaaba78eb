using System.Buffers;
using DataPlane.Store.Coordination;
using DataPlane.Store.Protocol.Resp;

namespace DataPlane.Store.Server;

/// <summary>
/// A cluster node's client on an event loop (<see cref="Epoll.RespClient"/>): the loop starts every
/// whole command it received (data commands through the coordinator, all in flight together), then
/// writes the replies in command order as their operations are decided, each watched without a
/// thread-pool hop; a command this node answers itself waits until the replies before it are written.
/// </summary>
internal sealed partial class RespConnection
{
    private int _repliesWritten;

    /// <summary>True when starting stopped at a command this node answers itself: it runs once the replies before it are written.</summary>
    public bool WaitsToDrain { get; private set; }

    /// <summary>
    /// Starts the whole commands in <paramref name="buffer"/> from <paramref name="start"/> to
    /// <paramref name="end"/> and moves <paramref name="start"/> past them; true when the connection
    /// should close once the replies are sent. Their replies come from <see cref="WriteDecidedReplies"/>.
    /// </summary>
    public bool StartReceived(ClusterCommands commands, byte[] buffer, ref int start, int end)
    {
        var pending = new ReadOnlySequence<byte>(buffer, start, end - start);
        WaitsToDrain = StartCommands(commands, ref pending, out var close);
        start = end - (int)pending.Length;
        _request.Trim();
        return close;
    }

    /// <summary>
    /// Writes the replies of the started commands, in order, up to the first that is not decided;
    /// true when all are written. False means <paramref name="onDecided"/> is called (on any thread)
    /// once that one is decided, when this should be called again.
    /// </summary>
    public bool WriteDecidedReplies(Action onDecided)
    {
        while (_repliesWritten < _clustered.Count)
        {
            var reply = _clustered[_repliesWritten];
            if (reply.TryWatch(onDecided))
            {
                return false;
            }

            try
            {
                if (reply.Read is { } read)
                {
                    // Decided (the watch said so): the reply is there to write, no await needed.
                    read.WriteReply(Output);
                }
                else
                {
                    var bytes = reply.Bytes;
                    Output.Write(bytes.IsCompleted ? bytes.Result : throw new InvalidOperationException("A reply was written before it was decided."));
                }
            }
            catch (IOException e)
            {
                // A local I/O failure (the write-ahead log, a hint file) becomes an error reply, as on a single node.
                Output.WriteError("ERR " + e.Message);
            }

            _repliesWritten++;
        }

        _clustered.Clear();
        _repliesWritten = 0;
        return true;
    }
}
