using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>An event loop's sends through a <see cref="FrameOutbox"/>, over a real loopback connection.</summary>
public sealed class FrameOutboxTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Socket _sender;
    private readonly Socket _receiver;

    public FrameOutboxTests()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);

        // Small buffers, so that a round's frames are more than the kernel takes at once.
        _sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = 8192 };
        _sender.Connect(listener.LocalEndPoint!);
        _receiver = listener.Accept();
        _receiver.ReceiveBufferSize = 8192;
    }

    [Fact]
    public async Task RoundWrites_LeaveAtTheRoundsEnd_AndWhatTheKernelRefusesFollowsInOrder()
    {
        var failed = false;
        var outbox = new FrameOutbox(_sender, () => failed = true);
        var round = new List<FrameOutbox>();
        const int frames = 2000;
        var payload = new byte[1000];

        FrameOutbox.BeginRound(round);
        for (var i = 0; i < frames; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, i);
            Assert.True(outbox.Write(FrameType.Write, (ulong)i, payload));
        }

        // One entry however many frames: the round sends each outbox once.
        Assert.Single(round);

        // Returns although the peer reads nothing yet: the kernel takes a part, the rest goes on asynchronously.
        FrameOutbox.SendRound(round);
        Assert.Empty(round);

        var ids = await ReceiveFramesAsync(frames);
        Assert.Equal(Enumerable.Range(0, frames), ids);
        Assert.False(failed);
    }

    [Fact]
    public async Task CorkedFrames_StayThroughTheRoundsEnd_UntilUncorked()
    {
        var outbox = new FrameOutbox(_sender);
        var round = new List<FrameOutbox>();
        outbox.Cork();
        FrameOutbox.BeginRound(round);
        Assert.True(outbox.Write(FrameType.Ack, 7, [1]));
        FrameOutbox.SendRound(round);

        // On loopback a send is in the peer's receive queue when the call returns: nothing was sent.
        Assert.Equal(0, _receiver.Available);

        outbox.Uncork();
        Assert.Equal([7], await ReceiveFramesAsync(1));
    }

    [Fact]
    public async Task AnotherLoopsOpenRound_DoesNotHoldBackTheFramesOfARoundThatEnds()
    {
        var outbox = new FrameOutbox(_sender);
        var first = new List<FrameOutbox>();
        FrameOutbox.BeginRound(first);
        try
        {
            Assert.True(outbox.Write(FrameType.Ack, 1, [1]));

            // A second loop's round (its own thread) writes and ends while the first is still open (waiting for a log write, say).
            await Task.Factory.StartNew(
                () =>
                {
                    var second = new List<FrameOutbox>();
                    FrameOutbox.BeginRound(second);
                    Assert.True(outbox.Write(FrameType.Ack, 2, [2]));
                    FrameOutbox.SendRound(second);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).WaitAsync(Patience);

            // On loopback a send is in the peer's receive queue when the call returns: both frames left with the second round.
            Assert.NotEqual(0, _receiver.Available);
            Assert.Equal([1, 2], await ReceiveFramesAsync(2));
        }
        finally
        {
            FrameOutbox.SendRound(first);
        }

        Assert.Empty(first);
        Assert.Equal(0, _receiver.Available);
    }

    [Fact]
    public async Task AFailedSendOfTheOutboxesOwnSender_ClosesItAndDropsTheConnectionOnce()
    {
        var drops = 0;
        var outbox = new FrameOutbox(_sender, () => Interlocked.Increment(ref drops));
        using var stop = new CancellationTokenSource();
        var sending = outbox.RunAsync(stop.Token);

        // The peer resets the connection: the next sends fail.
        _receiver.LingerState = new LingerOption(true, 0);
        _receiver.Close();
        await Testing.Eventually.True(
            () => !outbox.Write(FrameType.Ack, 3, [3]),
            "a write (sent outside any round, by the outbox's own sender) finds the outbox closed after its send failed",
            Patience);

        Assert.Equal(1, Volatile.Read(ref drops));

        // The sender ended by itself, not waiting for its stop.
        await sending.WaitAsync(Patience);
    }

    public void Dispose()
    {
        _sender.Dispose();
        _receiver.Dispose();
    }

    /// <summary>Reads <paramref name="count"/> whole frames; returns the first four bytes of each payload (or its request id when shorter).</summary>
    private async Task<List<int>> ReceiveFramesAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ids = new List<int>();
        var buffer = new ArrayBufferWriter<byte>();
        while (ids.Count < count)
        {
            var received = await _receiver.ReceiveAsync(buffer.GetMemory(64 * 1024), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, received);
            buffer.Advance(received);
            var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
            var consumed = 0L;
            while (Frame.TryRead(ref sequence, out _, out var id, out var payload))
            {
                ids.Add(payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload.FirstSpan) : (int)id);
                consumed = buffer.WrittenCount - sequence.Length;
            }

            var rest = buffer.WrittenSpan[(int)consumed..].ToArray();
            buffer.Clear();
            buffer.Write(rest);
        }

        return ids;
    }
}
