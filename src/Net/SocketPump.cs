using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace DataPlane.Net;

/// <summary>
/// The socket&lt;-&gt;pipe transport: one loop moves bytes from a socket into a pipe, the other from a
/// pipe into a socket. The pipe's pause/resume thresholds are the back-pressure: a receive loop whose
/// pipe is full stops receiving, so the kernel's window closes towards the sender.
/// </summary>
/// <remarks>
/// Cancelling a loop's token only dequeues its pending operation (no system call touches the socket,
/// see shared/HANDOFF.md), so a cancelled loop leaves the socket usable by another loop or process.
/// </remarks>
internal static class SocketPump
{
    /// <summary>
    /// Receives from <paramref name="socket"/> into <paramref name="writer"/> until the peer's FIN
    /// (the writer is completed), a reset (the writer is completed with the error), the reader side
    /// going away, or cancellation (the writer is left open).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<PumpResult> ReceiveAsync(
        Socket socket, PipeWriter writer, ITransferObserver observer, int bufferSize, CancellationToken cancellationToken)
    {
        while (true)
        {
            int received;
            try
            {
                var memory = writer.GetMemory(bufferSize);
                received = await socket.ReceiveAsync(memory, SocketFlags.None, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return PumpResult.Cancelled;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                await writer.CompleteAsync(e);
                return IsReset(e) ? PumpResult.Reset : PumpResult.Aborted;
            }

            if (received == 0)
            {
                await writer.CompleteAsync();
                return PumpResult.Completed;
            }

            writer.Advance(received);
            observer.OnTransferred(received);
            FlushResult flush;
            try
            {
                flush = await writer.FlushAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return PumpResult.Cancelled;
            }

            if (flush.IsCompleted)
            {
                // The sending side gave up (its socket failed): nobody will read what we receive.
                await writer.CompleteAsync();
                return PumpResult.Aborted;
            }
        }
    }

    /// <summary>
    /// Sends what <paramref name="reader"/> yields to <paramref name="socket"/>. When the writer side
    /// completes normally the socket's sending half is shut down (the FIN travels on) unless
    /// <paramref name="shutdownOnEnd"/> says the socket is about to be closed anyway (a close sends the
    /// FIN itself: one system call fewer); when it completes with an error, or a send fails, the result
    /// says so and the caller decides (a reset stays a reset). <see cref="PipeReader.CancelPendingRead"/>
    /// stops the loop once what the pipe holds is sent (<see cref="PumpResult.Cancelled"/>, no shutdown):
    /// a send is never cancelled, since a cancelled send does not tell how much of it went out.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<PumpResult> SendAsync(
        PipeReader reader, Socket socket, Func<bool>? shutdownOnEnd, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return PumpResult.Cancelled;
            }
            catch (Exception e)
            {
                // The receiving side completed the pipe with its error.
                await reader.CompleteAsync();
                return IsReset(e) ? PumpResult.Reset : PumpResult.Aborted;
            }

            var buffer = read.Buffer;
            try
            {
                if (buffer.IsSingleSegment)
                {
                    await SendAllAsync(socket, buffer.First, cancellationToken);
                }
                else
                {
                    foreach (var segment in buffer)
                    {
                        await SendAllAsync(socket, segment, cancellationToken);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // A send already under way is not undone; the bytes not sent stay in the pipe.
                reader.AdvanceTo(buffer.Start);
                return PumpResult.Cancelled;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                await reader.CompleteAsync(e);
                return IsReset(e) ? PumpResult.Reset : PumpResult.Aborted;
            }

            reader.AdvanceTo(buffer.End);
            if (read.IsCanceled && !read.IsCompleted)
            {
                // CancelPendingRead: the caller stopped the writing side first, so what this read
                // returned was the rest; it is sent whole, and the socket is left as it is.
                return PumpResult.Cancelled;
            }

            if (read.IsCompleted)
            {
                await reader.CompleteAsync();
                if (shutdownOnEnd is not null && !shutdownOnEnd())
                {
                    return PumpResult.Completed;
                }

                try
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return PumpResult.Aborted;
                }

                return PumpResult.Completed;
            }
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    private static bool IsReset(Exception e) =>
        e is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown };
}
