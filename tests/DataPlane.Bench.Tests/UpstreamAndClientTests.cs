using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using DataPlane.Bench.Scenarios.Lb;
using DataPlane.Testing;

namespace DataPlane.Bench.Tests;

/// <summary>The LB bench's real upstream server and open-loop client over loopback sockets.</summary>
public sealed class UpstreamAndClientTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Upstream_AnswersEachRequestWithItsSequenceAndItsId()
    {
        await using var upstream = new UpstreamServer(id: 3, workers: 2, meanServiceMs: 1, jitter: 0.5, seed: 1);
        upstream.Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(upstream.EndPoint);

        for (var sequence = 40; sequence < 43; sequence++)
        {
            var answer = await ExchangeAsync(socket, sequence);

            Assert.Equal(sequence, BinaryPrimitives.ReadInt32LittleEndian(answer));
            Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(answer.AsSpan(4)));
        }

        Assert.Equal(3, upstream.Served);
    }

    [Fact]
    public async Task Upstream_WithOneBusyWorker_QueuesFurtherRequestsInArrivalOrder()
    {
        await using var upstream = new UpstreamServer(id: 0, workers: 1, meanServiceMs: 200, jitter: 0, seed: 1);
        upstream.Start();
        var sockets = new Socket[3];
        var answers = new List<Task<byte[]>>();
        for (var i = 0; i < sockets.Length; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await sockets[i].ConnectAsync(upstream.EndPoint);
            answers.Add(ExchangeAsync(sockets[i], i));
            var received = i + 1;
            await Eventually.True(() => upstream.Received == received, $"request {i} received", Generous);
        }

        var order = new List<int>();
        foreach (var answer in answers)
        {
            order.Add(BinaryPrimitives.ReadInt32LittleEndian(await answer.WaitAsync(Generous)));
        }

        Assert.Equal([0, 1, 2], order);
        Assert.Equal(3, upstream.Served);
        Assert.InRange(upstream.MeasuredServiceMs, 190, 2000);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task PerRequestClient_ThroughAForwarder_GetsEveryAnswerAndSeesWhichUpstreamAnswered()
    {
        await using var first = new UpstreamServer(id: 0, workers: 2, meanServiceMs: 1, jitter: 0.5, seed: 1);
        await using var second = new UpstreamServer(id: 1, workers: 2, meanServiceMs: 1, jitter: 0.5, seed: 2);
        first.Start();
        second.Start();
        await using var forwarder = new TestForwarder(first.EndPoint, second.EndPoint);
        var client = new OpenLoopClient(forwarder.EndPoint, upstreams: 2, Generous);

        var result = await client.RunPerRequestAsync(ratePerSecond: 200, TimeSpan.FromSeconds(1), seed: 5, CancellationToken.None);

        Assert.Equal(0, result.Errors);
        Assert.InRange(result.Sent, 100, 400);
        Assert.Equal(result.Sent, result.Answered);
        Assert.Equal(result.Sent, result.Latency.Count);
        Assert.InRange(result.AnsweredBy[0] - result.AnsweredBy[1], -1, 1);
        Assert.Equal(first.Served + second.Served, result.Answered);
        Assert.True(result.Rps > 0, "no answer arrived while the load was applied");
        Assert.True(result.Latency.P50Ms >= 0.5, $"p50 {result.Latency.P50Ms} ms is below the service time");
    }

    [Fact]
    public async Task PersistentClient_SpreadsArrivalsOverItsPoolAndKeepsEachConnectionOnOneUpstream()
    {
        await using var first = new UpstreamServer(id: 0, workers: 2, meanServiceMs: 1, jitter: 0.5, seed: 1);
        await using var second = new UpstreamServer(id: 1, workers: 2, meanServiceMs: 1, jitter: 0.5, seed: 2);
        first.Start();
        second.Start();
        await using var forwarder = new TestForwarder(first.EndPoint, second.EndPoint);
        var client = new OpenLoopClient(forwarder.EndPoint, upstreams: 2, Generous);

        var result = await client.RunPersistentAsync(ratePerSecond: 200, TimeSpan.FromSeconds(1), connections: 4, seed: 5, CancellationToken.None);

        Assert.Equal(0, result.Errors);
        Assert.Equal(result.Sent, result.Answered);

        // Connections alternate between the two upstreams and arrival i rides connection i mod 4.
        Assert.InRange(result.AnsweredBy[0] - result.AnsweredBy[1], -2, 2);
    }

    [Fact]
    public async Task Client_CountsRefusedConnectionsAsErrors_AndReturns()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var nobody = (IPEndPoint)closed.LocalEndPoint!;
        var client = new OpenLoopClient(nobody, upstreams: 2, Generous);

        var result = await client.RunPerRequestAsync(ratePerSecond: 100, TimeSpan.FromSeconds(0.5), seed: 5, CancellationToken.None).WaitAsync(Generous);

        Assert.True(result.Sent > 0);
        Assert.Equal(result.Sent, result.Errors);
        Assert.Equal(0, result.Answered);
    }

    [Fact]
    public async Task Client_RejectsAnAnswerFromAnUnknownUpstream()
    {
        await using var stranger = new UpstreamServer(id: 7, workers: 1, meanServiceMs: 1, jitter: 0, seed: 1);
        stranger.Start();
        var client = new OpenLoopClient(stranger.EndPoint, upstreams: 2, Generous);

        var result = await client.RunPerRequestAsync(ratePerSecond: 100, TimeSpan.FromSeconds(0.5), seed: 5, CancellationToken.None);

        Assert.True(result.Sent > 0);
        Assert.Equal(result.Sent, result.Errors);
    }

    private static async Task<byte[]> ExchangeAsync(Socket socket, int sequence)
    {
        var buffer = new byte[UpstreamServer.MessageSize];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, sequence);
        await socket.SendAsync(buffer, SocketFlags.None);
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(Generous);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }
}
