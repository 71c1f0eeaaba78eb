using System.Buffers;
using DataPlane.Store.Coordination;
using DataPlane.Store.Protocol.Resp;

namespace DataPlane.Store.Server;

internal sealed partial class RespConnection
{
    private readonly List<ClusterReply> _clustered = [];

    /// <summary>
    /// The loop of a cluster node's client: every whole command in the buffer is started (data
    /// commands through the coordinator, all in flight together, as a pipelining client expects), then
    /// the replies are written in command order and flushed once. A command this node answers itself
    /// waits until the replies before it are written, so order holds.
    /// </summary>
    private async Task RunClusteredAsync(ClusterCommands commands)
    {
        var input = Pipe.Input;
        var output = Pipe.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                var buffer = result.Buffer;
                bool close;
                while (true)
                {
                    var drain = StartCommands(commands, ref buffer, out close);
                    foreach (var reply in _clustered)
                    {
                        // Awaited here, not in a helper: this method's state machine is allocated once per
                        // connection, a helper's once per reply that is not ready yet.
                        try
                        {
                            if (reply.Read is { } read)
                            {
                                await read.AsCompletion().ConfigureAwait(false);
                                read.WriteReply(Output);
                            }
                            else
                            {
                                Output.Write(await reply.Bytes.ConfigureAwait(false));
                            }
                        }
                        catch (IOException e)
                        {
                            // A local I/O failure (the write-ahead log, a hint file) becomes an error reply, as on a single node.
                            Output.WriteError("ERR " + e.Message);
                        }
                    }

                    _clustered.Clear();
                    if (!drain || close)
                    {
                        break;
                    }
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                _request.Trim();
                var flush = await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                if (close || flush.IsCompleted || result.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Starts commands from the front of <paramref name="buffer"/>; true when it stopped at a local command that must wait for the replies before it.</summary>
    private bool StartCommands(ClusterCommands commands, ref ReadOnlySequence<byte> buffer, out bool close)
    {
        var reader = new SequenceReader<byte>(buffer);
        var executed = 0;
        var drain = false;
        close = false;
        var ahead = 0;
        while (!close)
        {
            var before = reader.Position;
            var status = RespParser.TryParse(ref reader, _request, _context.Options.MaxBulkLength, out var error);
            if (status == ParseStatus.Incomplete)
            {
                break;
            }

            if (status == ParseStatus.Error)
            {
                _context.Stats.ProtocolError();
                _clustered.Add(new(new ValueTask<byte[]>(RespReplies.Error("ERR " + error))));
                close = true;
                break;
            }

            if (--ahead <= 0)
            {
                ahead = PrefetchAhead(reader);
            }

            if (_request.Count == 0)
            {
                continue;
            }

            var command = CommandTable.Find(_request[0]);
            if (command is not null && command.AcceptsArgumentCount(_request.Count) && commands.TryStart(command.Id, _request, out var reply))
            {
                executed++;
                _clustered.Add(reply);
                continue;
            }

            if (_clustered.Count > 0)
            {
                reader = new SequenceReader<byte>(buffer.Slice(before));
                drain = true;
                break;
            }

            executed++;
            close = Execute();
        }

        _context.Stats.Commands(executed);
        buffer = buffer.Slice(reader.Position);
        return drain;
    }
}
