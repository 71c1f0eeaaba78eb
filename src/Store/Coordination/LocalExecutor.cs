using System.Buffers;
using System.IO.Pipelines;
using DataPlane.Store.Server;

namespace DataPlane.Store.Coordination;

/// <summary>
/// Runs read-modify-write commands on the local replica exactly as a single node does, through a
/// RESP connection over in-memory pipes that is not clustered: one command at a time, so the
/// commands a key's first replica runs for it are serialised, and each reply is whole before the
/// coordinator replicates the value it produced.
/// </summary>
internal sealed class LocalExecutor : IAsyncDisposable
{
    private readonly Pipe _requests = new(new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: 0));
    private readonly Pipe _replies = new(new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: 0));
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RespConnection _connection;
    private readonly Task _running;

    public LocalExecutor(StoreContext standalone)
    {
        _connection = new RespConnection(new DuplexPipe(_requests.Reader, _replies.Writer), standalone, id: 0);
        _running = _connection.RunAsync();
    }

    /// <summary>Runs one RESP command and returns its whole RESP reply.</summary>
    public async Task<byte[]> ExecuteAsync(byte[] command)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await _requests.Writer.WriteAsync(command).ConfigureAwait(false);
            while (true)
            {
                var result = await _replies.Reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (RespReplies.TryMeasure(buffer, out var length))
                {
                    var reply = buffer.Slice(0, length).ToArray();
                    _replies.Reader.AdvanceTo(buffer.GetPosition(length));
                    return reply;
                }

                _replies.Reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    throw new IOException("the local executor stopped");
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _requests.Writer.CompleteAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        await _replies.Reader.CompleteAsync().ConfigureAwait(false);
        _connection.Dispose();
        _gate.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
