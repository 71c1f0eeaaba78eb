using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using DataPlane.Net;
using DataPlane.Proxy.Tests.Support;

namespace DataPlane.Proxy.Tests;

/// <summary>
/// The two halves of a migration's quiet point on real sockets: a cancelled receive loses nothing and
/// leaves the socket usable; a send loop stopped with CancelPendingRead first sends what the pipe holds
/// and leaves the socket open (no shutdown).
/// </summary>
public sealed class QuietPointTests
{
    [Fact]
    public async Task ReceiveCancelled_ReturnsCancelled_AndTheSocketDeliversLaterBytesToTheNextReader()
    {
        var (a, b) = await PairAsync();
        using (a)
        using (b)
        {
            var pipe = new Pipe();
            using var stop = new CancellationTokenSource();
            var receiving = SocketPump.ReceiveAsync(a, pipe.Writer, new Counter(), 4096, stop.Token).AsTask();
            await b.SendAsync("first"u8.ToArray());
            var read = await pipe.Reader.ReadAsync();
            Assert.Equal("first"u8.ToArray(), read.Buffer.ToArray());
            pipe.Reader.AdvanceTo(read.Buffer.End);

            await stop.CancelAsync();
            Assert.Equal(PumpResult.Cancelled, await receiving.WaitAsync(Loopback.Timeout));

            // Sent after the cancel: nobody took it from the socket, the next reader gets it, and the pair is intact both ways.
            await b.SendAsync("second"u8.ToArray());
            Assert.Equal("second"u8.ToArray(), await Loopback.ReadExactlyAsync(a, 6));
            await a.SendAsync("back"u8.ToArray());
            Assert.Equal("back"u8.ToArray(), await Loopback.ReadExactlyAsync(b, 4));
        }
    }

    [Fact]
    public async Task SendStoppedWithCancelPendingRead_SendsWhatThePipeHeld_ThenLeavesTheSocketOpen()
    {
        var (a, b) = await PairAsync();
        using (a)
        using (b)
        {
            var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
            await pipe.Writer.WriteAsync(data);
            pipe.Reader.CancelPendingRead();

            // More than the socket buffers hold: the send waits for the reader below, and is not cut short.
            var sending = SocketPump.SendAsync(pipe.Reader, a, shutdownOnEnd: null, CancellationToken.None).AsTask();
            Assert.Equal(data, await Loopback.ReadExactlyAsync(b, data.Length));
            Assert.Equal(PumpResult.Cancelled, await sending.WaitAsync(Loopback.Timeout));

            // No FIN went out: the connection carries on.
            await a.SendAsync("after"u8.ToArray());
            Assert.Equal("after"u8.ToArray(), await Loopback.ReadExactlyAsync(b, 5));
        }
    }

    private static async Task<(Socket A, Socket B)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var accepting = listener.AcceptAsync();
        var b = await Loopback.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        return (await accepting.WaitAsync(Loopback.Timeout), b);
    }

    private sealed class Counter : ITransferObserver
    {
        public void OnTransferred(int bytes)
        {
        }
    }
}
