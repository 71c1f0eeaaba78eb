using System.IO.Pipelines;
using System.Net.Sockets;

namespace DataPlane.Store.Server;

/// <summary>
/// A socket seen as an <see cref="IDuplexPipe"/>: one loop receives into the input pipe, one sends
/// what the handler writes to the output pipe. Both pipes run their continuations inline, so with
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> a request is parsed, executed and answered on
/// the socket's own completion thread without a hop through the thread pool.
/// </summary>
// Lives here until src/Net (being built beside this change) offers the shared transport.
internal sealed class SocketConnection : IDuplexPipe, IAsyncDisposable
{
    private const int ReceiveChunk = 8192;

    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;

    public SocketConnection(Socket socket, long maxRequestBytes)
    {
        _socket = socket;
        // The input may hold one whole request before the handler can take it, so it pauses only
        // beyond the largest request allowed; anything smaller never waits on itself.
        _input = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: maxRequestBytes + ReceiveChunk,
            resumeWriterThreshold: (maxRequestBytes + ReceiveChunk) / 2,
            useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 1024 * 1024,
            resumeWriterThreshold: 512 * 1024,
            useSynchronizationContext: false));
    }

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _output.Writer;

    public void Start()
    {
        _receiving = ReceiveAsync();
        _sending = SendAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _sending.ConfigureAwait(false);
        _socket.Dispose();
        await _receiving.ConfigureAwait(false);
    }

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(ReceiveChunk);
                var received = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                writer.Advance(received);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client went away or the server is stopping: the handler sees the end of input.
        }
        finally
        {
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task SendAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await _socket.SendAsync(segment, SocketFlags.None).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client is gone; nothing left to deliver.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}
