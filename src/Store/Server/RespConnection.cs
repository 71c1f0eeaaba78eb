using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Server;

/// <summary>
/// One client: parses every complete command in the buffer, executes it against its own replica
/// session, writes all the replies, and flushes once. With <see cref="FsyncMode.Always"/> the flush
/// waits for the fsync that covers the batch's last write; if that fsync fails the connection is
/// dropped unflushed, so no write is acknowledged that is not on disk.
/// </summary>
internal sealed partial class RespConnection : IDisposable
{
    private readonly IDuplexPipe? _pipe;
    private readonly Socket? _socket;
    private readonly ReplyBuffer? _replies;
    private readonly IBufferWriter<byte> _output;
    private readonly StoreContext _context;
    private readonly ReplicaSession _session;
    private readonly RespRequest _request = new();
    private readonly RespRequest _ahead = new();
    private readonly long _id;
    private string? _name;

    /// <summary>A connection over pipes: a cluster node's client, or the coordinator's local executor.</summary>
    public RespConnection(IDuplexPipe pipe, StoreContext context, long id)
        : this(context, id, pipe.Output)
    {
        _pipe = pipe;
    }

    /// <summary>A single node's client straight on its socket (see <see cref="RunSocketAsync"/>).</summary>
    public RespConnection(Socket socket, StoreContext context, long id)
        : this(context, id, new ReplyBuffer())
    {
        _socket = socket;
        _replies = (ReplyBuffer)_output;
    }

    /// <summary>A single node's client driven by an epoll loop (see <see cref="Epoll.RespClient"/>).</summary>
    public RespConnection(StoreContext context, long id)
        : this(context, id, new ReplyBuffer())
    {
        _replies = (ReplyBuffer)_output;
    }

    private RespConnection(StoreContext context, long id, IBufferWriter<byte> output)
    {
        _context = context;
        _id = id;
        _output = output;
        _session = context.Replica.NewSession();
    }

    /// <summary>Where the command handlers write their replies.</summary>
    private IBufferWriter<byte> Output => _output;

    private IDuplexPipe Pipe => _pipe ?? throw new InvalidOperationException("This connection runs on a socket, not on pipes.");

    /// <summary>The replies written since they were last sent (a connection on a socket or a loop).</summary>
    public ReplyBuffer Replies => _replies ?? throw new InvalidOperationException("This connection writes to a pipe.");

    /// <summary>The sequence number of this connection's last write to the log.</summary>
    public long LastSequence => _session.LastSequence;

    public Task RunAsync()
    {
        if (_socket is not null)
        {
            return RunSocketAsync(_socket);
        }

        return _context.ClusterCommands is { } clustered ? RunClusteredAsync(clustered) : RunPipeAsync();
    }

    private async Task RunPipeAsync()
    {
        var input = Pipe.Input;
        var output = Pipe.Output;
        try
        {
            while (true)
            {
                // No token on the hot path (registering one costs every read); stopping aborts the socket instead.
                var result = await input.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                var buffer = result.Buffer;
                var before = _session.LastSequence;
                var close = ProcessBuffer(ref buffer);
                input.AdvanceTo(buffer.Start, buffer.End);
                _request.Trim();
                if (!await SecureWritesAsync(before).ConfigureAwait(false))
                {
                    // The log refused the batch (a full disk): drop the connection unflushed, so no
                    // write of it is acknowledged; later writes get an error reply.
                    break;
                }

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

    public void Dispose()
    {
        _session.Dispose();
        _request.Dispose();
        _ahead.Dispose();
        _replies?.Dispose();
    }

    /// <summary>
    /// Makes the batch's writes as durable as the fsync mode asks before their replies go out: with
    /// <see cref="FsyncMode.Always"/> it waits for the fsync that covers the batch's last write,
    /// otherwise the log's pending bytes are written to the file now. False if the log refused them.
    /// </summary>
    private ValueTask<bool> SecureWritesAsync(long before) =>
        _session.LastSequence == before ? new(true) : _context.Replica.Wal.SecureAsync(_session.LastSequence);

    /// <summary>
    /// Executes every whole command in <paramref name="buffer"/> from <paramref name="start"/> to
    /// <paramref name="end"/>, moves <paramref name="start"/> past them and writes their replies to
    /// <see cref="Replies"/>; true when the connection should close once the replies are sent.
    /// </summary>
    public bool ExecuteReceived(byte[] buffer, ref int start, int end)
    {
        var pending = new ReadOnlySequence<byte>(buffer, start, end - start);
        var close = ProcessBuffer(ref pending);
        start = end - (int)pending.Length;
        _request.Trim();
        return close;
    }

    /// <summary>Answers a request that fills the receive buffer at its limit; the connection then closes.</summary>
    public void RefuseTooLarge()
    {
        _context.Stats.ProtocolError();
        Output.WriteError("ERR Protocol error: request too large");
    }

    /// <summary>Executes every whole command at the front of <paramref name="buffer"/> and leaves the rest; true to close.</summary>
    private bool ProcessBuffer(ref ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var executed = 0;
        var close = false;
        var ahead = 0;
        while (!close)
        {
            var status = RespParser.TryParse(ref reader, _request, _context.Options.MaxBulkLength, out var error);
            if (status == ParseStatus.Incomplete)
            {
                break;
            }

            if (status == ParseStatus.Error)
            {
                _context.Stats.ProtocolError();
                Output.WriteError("ERR " + error);
                close = true;
                break;
            }

            if (--ahead <= 0)
            {
                ahead = PrefetchAhead(reader);
            }

            if (_request.Count > 0)
            {
                executed++;
                close = Execute();
            }
        }

        _context.Stats.Commands(executed);
        buffer = buffer.Slice(reader.Position);
        return close;
    }

    /// <summary>
    /// Prefetches the FASTER buckets and records of the keys of the next <see cref="FasterPrefetch.Lookahead"/> whole
    /// commands after <paramref name="reader"/>'s position (<see cref="RespParser.KeyHashes"/>), without
    /// moving it: a pipelined batch of commands otherwise waits on two cache misses per key in turn. Returns
    /// how many commands it covered: the caller looks ahead again once it has run them (at once, when none
    /// was whole). A lone command (nothing after it) costs nothing.
    /// </summary>
    private int PrefetchAhead(in SequenceReader<byte> reader)
    {
        if (reader.End || !FasterPrefetch.IsSupported || _context.Replica.Prefetch is not { } prefetch)
        {
            return 0;
        }

        Span<long> hashes = stackalloc long[FasterPrefetch.Lookahead];
        prefetch.Prefetch(hashes[..RespParser.KeyHashes(reader.UnreadSequence, _ahead, _context.Options.MaxBulkLength, hashes, out var seen)]);
        return seen;
    }

    /// <summary>Runs one command; true when the connection should close after the replies are sent (QUIT).</summary>
    private bool Execute()
    {
        var command = CommandTable.Find(_request[0]);
        if (command is null)
        {
            Output.WriteError(UnknownCommand());
            return false;
        }

        if (!command.AcceptsArgumentCount(_request.Count))
        {
            Output.WriteError($"ERR wrong number of arguments for '{command.Name}' command");
            return false;
        }

        try
        {
            return Dispatch(command.Id);
        }
        catch (IOException e)
        {
            Output.WriteError("ERR " + e.Message);
            return false;
        }
    }

    private bool Dispatch(CommandId id)
    {
        switch (id)
        {
            case CommandId.Get: Get(); break;
            case CommandId.Set: Set(); break;
            case CommandId.SetEx: SetWithExpiry(1000, "setex"); break;
            case CommandId.PSetEx: SetWithExpiry(1, "psetex"); break;
            case CommandId.SetNx: SetIfAbsent(); break;
            case CommandId.MGet: MGet(); break;
            case CommandId.MSet: MSet(); break;
            case CommandId.Incr: Increment(1, fromArgument: false); break;
            case CommandId.Decr: Increment(-1, fromArgument: false); break;
            case CommandId.IncrBy: Increment(1, fromArgument: true); break;
            case CommandId.DecrBy: Increment(-1, fromArgument: true); break;
            case CommandId.Append: Append(); break;
            case CommandId.StrLen: StrLen(); break;
            case CommandId.Del: Del(); break;
            case CommandId.Exists: Exists(); break;
            case CommandId.Expire: Expire(1000, "expire"); break;
            case CommandId.PExpire: Expire(1, "pexpire"); break;
            case CommandId.Ttl: Ttl(milliseconds: false); break;
            case CommandId.PTtl: Ttl(milliseconds: true); break;
            case CommandId.Persist: Output.WriteInteger(_session.Persist(_request[1]) ? 1 : 0); break;
            case CommandId.DbSize: Output.WriteInteger(_context.Replica.KeyCount); break;
            case CommandId.FlushDb or CommandId.FlushAll: FlushDb(); break;
            case CommandId.Ping: Ping(); break;
            case CommandId.Echo: Output.WriteBulk(_request[1]); break;
            case CommandId.Select: Select(); break;
            case CommandId.Info: Info(); break;
            case CommandId.Command: Command(); break;
            case CommandId.Config: Config(); break;
            case CommandId.Client: Client(); break;
            case CommandId.Hello: Hello(); break;
            case CommandId.Cluster: Output.WriteError("ERR This instance has cluster support disabled"); break;
            case CommandId.Quit: Output.WriteRaw(RespWriter.Ok); return true;
        }

        return false;
    }

    private string UnknownCommand()
    {
        var args = new System.Text.StringBuilder();
        for (var i = 1; i < _request.Count && args.Length < 128; i++)
        {
            args.Append('\'').Append(Printable(_request[i], 128)).Append("' ");
        }

        return $"ERR unknown command '{Printable(_request[0], 128)}', with args beginning with: {args}";
    }

    private static string Printable(ReadOnlySpan<byte> bytes, int max) =>
        System.Text.Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, max)]);
}
