using System.Text;

namespace DataPlane.Store.Tests;

/// <summary>Malformed and oversized requests on real sockets: an error, the connection closed, the server carrying on.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestStore _store = null!;

    public async Task InitializeAsync() => _store = await TestStore.StartAsync();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Theory]
    [InlineData("*1\r\n!4\r\nPING\r\n", "-ERR Protocol error: expected '$', got '!'\r\n")]
    [InlineData("*1\r\n$-4\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*-3\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("*1\r\n$4\r\nPINGxx", "-ERR Protocol error: expected CRLF after bulk string\r\n")]
    [InlineData("*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("GET \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    public async Task MalformedFrame_GetsProtocolErrorAndClose_OthersCarryOn(string input, string reply)
    {
        using var other = new RawClient(_store.EndPoint);
        using var bad = new RawClient(_store.EndPoint);
        bad.Send("*1\r\n$4\r\nPING\r\n" + input);
        Assert.Equal("+PONG\r\n", await bad.ReadReplyAsync());
        Assert.Equal(reply, await bad.ReadReplyAsync());
        Assert.True(await bad.IsClosedByServerAsync());

        other.Command("SET", "still", "here");
        Assert.Equal("+OK\r\n", await other.ReadReplyAsync());
    }

    [Fact]
    public async Task InlineCommands_WorkAsInRedis()
    {
        using var client = new RawClient(_store.EndPoint);
        client.Send("SET \"a key\" 'a value'\r\n\r\nGET \"a key\"\nPING\r\n");
        Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
        Assert.Equal("$7\r\na value\r\n", await client.ReadReplyAsync());
        Assert.Equal("+PONG\r\n", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task LargeValue_ArrivingSlowly_IsBufferedAsItArrives()
    {
        using var client = new RawClient(_store.EndPoint);
        var value = new string('v', 3 * 1024 * 1024);
        var frame = Encoding.UTF8.GetBytes(RawClient.Encode("SET", "slow", value));
        for (var offset = 0; offset < frame.Length; offset += 100_000)
        {
            client.Send(frame.AsSpan(offset, Math.Min(100_000, frame.Length - offset)));
        }

        Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
        client.Command("STRLEN", "slow");
        Assert.Equal(":3145728\r\n", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task ClientVanishingMidCommand_CostsOnlyItsConnection()
    {
        using (var vanishing = new RawClient(_store.EndPoint))
        {
            vanishing.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\npartial");
        }

        using (var reset = new RawClient(_store.EndPoint))
        {
            reset.Send("*2\r\n$3\r\nGET\r\n$1\r\n");
            reset.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        }

        using var client = new RawClient(_store.EndPoint);
        client.Command("GET", "k");
        Assert.Equal("$-1\r\n", await client.ReadReplyAsync());
        client.Command("DBSIZE");
        Assert.Equal(":0\r\n", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task Pipelining_TenThousandRawCommands_OneWrite_AllAnsweredInOrder()
    {
        using var client = new RawClient(_store.EndPoint);
        var batch = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            batch.Append(i % 2 == 0 ? RawClient.Encode("INCR", "counter") : RawClient.Encode("GET", "counter"));
        }

        client.Send(batch.ToString());
        for (var i = 0; i < 10_000; i++)
        {
            var n = (i / 2) + 1;
            Assert.Equal(i % 2 == 0 ? $":{n}\r\n" : $"${n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length}\r\n{n}\r\n", await client.ReadReplyAsync());
        }
    }
}
