using System.Buffers.Binary;
using System.Net.Sockets;
using Confluent.Kafka;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>Malformed requests over a real socket close that connection only; the broker and its data are untouched.</summary>
public sealed class BadInputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnOversizedSizePrefixClosesTheConnection()
    {
        await using var broker = await Broker.StartAsync();
        using var other = await ConnectAsync(broker);
        using var bad = await ConnectAsync(broker);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, (100 << 20) + 1);
        await bad.SendAsync(prefix);
        Assert.True(await IsClosedAsync(bad), "the connection is closed");
        await AssertStillServesAsync(broker, other);
    }

    [Fact]
    public async Task AMalformedFrameClosesTheConnection()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "kept", 1);
        var sent = await ProduceConsumeTests.ProduceAsync(broker, "kept", 10, CompressionType.None);
        using var other = await ConnectAsync(broker);
        using var bad = await ConnectAsync(broker);
        // A Metadata v1 request whose topic array claims a million entries in a 12-byte body.
        await bad.SendAsync(Frame(3, 1, 7, [0x00, 0x0F, 0x42, 0x40]));
        Assert.True(await IsClosedAsync(bad), "the connection is closed");
        await AssertStillServesAsync(broker, other);
        ProduceConsumeTests.AssertSameOrderPerPartition(sent, ProduceConsumeTests.Consume(broker, "kept", 10));
    }

    [Fact]
    public async Task AnUnknownApiKeyClosesTheConnection()
    {
        await using var broker = await Broker.StartAsync();
        using var other = await ConnectAsync(broker);
        using var bad = await ConnectAsync(broker);
        await bad.SendAsync(Frame(999, 0, 9, []));
        Assert.True(await IsClosedAsync(bad), "the connection is closed");
        await AssertStillServesAsync(broker, other);
    }

    [Fact]
    public async Task ApiVersionsAboveThreeGetsUnsupportedVersionWithTheRanges()
    {
        await using var broker = await Broker.StartAsync();
        using var socket = await ConnectAsync(broker);
        await socket.SendAsync(Frame(18, 9, 42, []));
        var response = await ReadResponseAsync(socket);
        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(response));
        Assert.Equal(35, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));
        Assert.Equal(15, BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(6)));
    }

    [Fact]
    public async Task PipelinedRequestsAreAnsweredInOrder()
    {
        await using var broker = await Broker.StartAsync();
        using var socket = await ConnectAsync(broker);
        await socket.SendAsync((byte[])[.. Frame(18, 0, 1, []), .. Frame(3, 1, 2, [0, 0, 0, 0]), .. Frame(18, 2, 3, [])]);
        for (var correlation = 1; correlation <= 3; correlation++)
        {
            Assert.Equal(correlation, BinaryPrimitives.ReadInt32BigEndian(await ReadResponseAsync(socket)));
        }
    }

    [Fact]
    public async Task ACorruptBatchGetsCorruptMessageAndAnUnknownPartitionUnknownTopicOrPartition()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "guarded", 1);
        using var builder = new DataPlane.Log.Records.RecordBatchBuilder();
        builder.Add("k"u8.ToArray(), "v"u8.ToArray(), 1_700_000_000_000);
        var batch = builder.Build().ToArray();
        var corrupt = (byte[])batch.Clone();
        corrupt[^1] ^= 0xFF;
        using var socket = await ConnectAsync(broker);

        await socket.SendAsync(Frame(0, 3, 1, ProduceBody("guarded", 0, corrupt)));
        Assert.Equal(2, ProduceError(await ReadResponseAsync(socket), "guarded"));
        await socket.SendAsync(Frame(0, 3, 2, ProduceBody("guarded", 7, batch)));
        Assert.Equal(3, ProduceError(await ReadResponseAsync(socket), "guarded"));
        await socket.SendAsync(Frame(0, 3, 3, ProduceBody("missing", 0, batch)));
        Assert.Equal(3, ProduceError(await ReadResponseAsync(socket), "missing"));
        await socket.SendAsync(Frame(0, 3, 4, ProduceBody("guarded", 0, batch)));
        Assert.Equal(0, ProduceError(await ReadResponseAsync(socket), "guarded"));
        Assert.Equal(1, broker.Server.Log.GetOffsets("guarded", 0).HighWatermark);
    }

    [Fact]
    public async Task AnUnsupportedVersionOfAKnownApiClosesTheConnection()
    {
        // Kafka answers UNSUPPORTED_VERSION only to ApiVersions; any other request it cannot parse closes the connection.
        await using var broker = await Broker.StartAsync();
        using var other = await ConnectAsync(broker);
        using var bad = await ConnectAsync(broker);
        await bad.SendAsync(Frame(0, 9, 11, ProduceBody("any", 0, [1, 2, 3])));
        Assert.True(await IsClosedAsync(bad), "the connection is closed");
        await AssertStillServesAsync(broker, other);
        Assert.Equal(1, broker.Server.Metrics.ProtocolErrors);
    }

    [Fact]
    public async Task AFetchOfAnUnknownTopicOrPartitionGetsUnknownTopicOrPartition()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "known", 1);
        using var socket = await ConnectAsync(broker);
        await socket.SendAsync(Frame(1, 4, 21, FetchBody("known", 5, 1 << 20)));
        Assert.Equal(3, FetchError(await ReadResponseAsync(socket), "known"));
        await socket.SendAsync(Frame(1, 4, 22, FetchBody("unknown", 0, 1 << 20)));
        Assert.Equal(3, FetchError(await ReadResponseAsync(socket), "unknown"));
        await socket.SendAsync(Frame(1, 4, 23, FetchBody("known", 0, 1 << 20)));
        Assert.Equal(0, FetchError(await ReadResponseAsync(socket), "known"));
    }

    [Fact]
    public async Task AClientVanishingMidRequestCostsOnlyItsConnection()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "kept", 1);
        var sent = await ProduceConsumeTests.ProduceAsync(broker, "kept", 10, CompressionType.None);
        using var other = await ConnectAsync(broker);
        await Eventually.True(() => broker.Server.Metrics.Connected == 1, "the producer's connection is closed", Patience);
        using (var vanishing = await ConnectAsync(broker))
        {
            await Eventually.True(() => broker.Server.Metrics.Connected == 2, "the broker accepted the connection", Patience);
            // A size prefix promising 1,000 bytes, then 10 of them, then a reset.
            var partial = Frame(0, 3, 31, ProduceBody("kept", 0, new byte[1000]))[..14];
            await vanishing.SendAsync(partial);
            vanishing.LingerState = new LingerOption(true, 0);
        }

        await Eventually.True(() => broker.Server.Metrics.Connected == 1, "the vanished connection is closed", Patience);
        await AssertStillServesAsync(broker, other);
        ProduceConsumeTests.AssertSameOrderPerPartition(sent, ProduceConsumeTests.Consume(broker, "kept", 10));
        Assert.Equal(0, broker.Server.Metrics.ProtocolErrors);
    }

    [Fact]
    public async Task AClientVanishingMidResponseCostsOnlyItsConnection()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "large", 1);
        // 12 MiB: more than the socket buffers hold, so the broker is still writing when the client goes.
        const int Messages = 192;
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = broker.Bootstrap, Acks = Acks.All }).Build())
        {
            var value = new byte[64 << 10];
            await Task.WhenAll(Enumerable.Range(0, Messages).Select(_ => producer.ProduceAsync("large", new Message<Null, byte[]> { Value = value })));
        }

        using var other = await ConnectAsync(broker);
        await Eventually.True(() => broker.Server.Metrics.Connected == 1, "the producer's connection is closed", Patience);
        using (var vanishing = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 })
        {
            await vanishing.ConnectAsync(broker.Server.EndPoint);
            await vanishing.SendAsync(Frame(1, 4, 41, FetchBody("large", 0, 64 << 20)));
            var first = new byte[64];
            Assert.True(await vanishing.ReceiveAsync(first.AsMemory()).AsTask().WaitAsync(Patience) > 0, "the response started");
            vanishing.LingerState = new LingerOption(true, 0);
        }

        await Eventually.True(() => broker.Server.Metrics.Connected == 1, "the vanished connection is closed", Patience);
        await AssertStillServesAsync(broker, other);
        Assert.Equal(Messages, broker.Server.Log.GetOffsets("large", 0).HighWatermark);
        Assert.Equal(Messages, ProduceConsumeTests.Consume(broker, "large", Messages).Count);
    }

    [Fact]
    public async Task AFetchAskingForMoreThanTheBrokersMaxFetchBytesGetsAtMostThat()
    {
        const int Cap = 128 << 10;
        await using var broker = await Broker.StartAsync(maxFetchBytes: Cap);
        await ProduceConsumeTests.CreateTopicAsync(broker, "capped", 1);
        // 100 x 16 KiB in batches of at most 32 KiB: 1.6 MB on disk, every batch smaller than the cap.
        const int Messages = 100;
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = broker.Bootstrap, Acks = Acks.All, BatchSize = 32 << 10 }).Build())
        {
            var value = new byte[16 << 10];
            await Task.WhenAll(Enumerable.Range(0, Messages).Select(_ => producer.ProduceAsync("capped", new Message<Null, byte[]> { Value = value })));
        }

        using var socket = await ConnectAsync(broker);
        await socket.SendAsync(Frame(1, 4, 51, FetchBody("capped", 0, 64 << 20)));
        var response = await ReadResponseAsync(socket);
        Assert.Equal(0, FetchError(response, "capped"));
        var records = FetchRecordsLength(response, "capped");
        Assert.InRange(records, 1, Cap);
        // A real consumer asking for librdkafka's default 50 MiB still reads everything, a capped fetch at a time.
        Assert.Equal(Messages, ProduceConsumeTests.Consume(broker, "capped", Messages).Count);
    }

    /// <summary>A Fetch v4 body: one topic, one partition from <paramref name="partition"/> at offset 0, no wait.</summary>
    private static byte[] FetchBody(string topic, int partition, int maxBytes)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(topic);
        var body = new byte[4 + 4 + 4 + 4 + 1 + 4 + 2 + name.Length + 4 + 4 + 8 + 4];
        var span = body.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, -1);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], 0);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], 1);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], maxBytes);
        span[16] = 0;
        BinaryPrimitives.WriteInt32BigEndian(span[17..], 1);
        BinaryPrimitives.WriteInt16BigEndian(span[21..], (short)name.Length);
        name.CopyTo(span[23..]);
        var at = 23 + name.Length;
        BinaryPrimitives.WriteInt32BigEndian(span[at..], 1);
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 4)..], partition);
        BinaryPrimitives.WriteInt64BigEndian(span[(at + 8)..], 0);
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 16)..], maxBytes);
        return body;
    }

    /// <summary>The error code of the only partition of a Fetch v4 response (after the correlation id and throttle time).</summary>
    private static short FetchError(byte[] response, string topic) =>
        BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4 + 4 + 4 + 2 + topic.Length + 4 + 4));

    /// <summary>The records size of the only partition of a Fetch v4 response (after its error, high watermark, last stable offset and aborted transactions).</summary>
    private static int FetchRecordsLength(byte[] response, string topic) =>
        BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(4 + 4 + 4 + 2 + topic.Length + 4 + 4 + 2 + 8 + 8 + 4));

    private static byte[] ProduceBody(string topic, int partition, byte[] records)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(topic);
        var body = new byte[2 + 2 + 4 + 4 + 2 + name.Length + 4 + 4 + 4 + records.Length];
        var span = body.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, -1);
        BinaryPrimitives.WriteInt16BigEndian(span[2..], 1);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], 30_000);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], 1);
        BinaryPrimitives.WriteInt16BigEndian(span[12..], (short)name.Length);
        name.CopyTo(span[14..]);
        var at = 14 + name.Length;
        BinaryPrimitives.WriteInt32BigEndian(span[at..], 1);
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 4)..], partition);
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 8)..], records.Length);
        records.CopyTo(span[(at + 12)..]);
        return body;
    }

    /// <summary>The error code of the only partition of a Produce v3 response (after the correlation id).</summary>
    private static short ProduceError(byte[] response, string topic) =>
        BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4 + 4 + 2 + topic.Length + 4 + 4));

    private static async Task AssertStillServesAsync(Broker broker, Socket other)
    {
        await other.SendAsync(Frame(18, 0, 5, []));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(await ReadResponseAsync(other)));
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        Assert.Single(admin.GetMetadata(TimeSpan.FromSeconds(30)).Brokers);
    }

    private static byte[] Frame(short apiKey, short version, int correlationId, byte[] body)
    {
        var frame = new byte[4 + 10 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), apiKey);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), version);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), correlationId);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), -1);
        body.CopyTo(frame.AsSpan(14));
        return frame;
    }

    private static async Task<Socket> ConnectAsync(Broker broker)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(broker.Server.EndPoint);
        return socket;
    }

    private static async Task<bool> IsClosedAsync(Socket socket)
    {
        var buffer = new byte[64];
        try
        {
            return await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Patience) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static async Task<byte[]> ReadResponseAsync(Socket socket)
    {
        var prefix = new byte[4];
        await ReadExactlyAsync(socket, prefix);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        await ReadExactlyAsync(socket, body);
        return body;
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(done)).AsTask().WaitAsync(Patience);
            Assert.True(read > 0, "the broker closed the connection");
            done += read;
        }
    }
}
