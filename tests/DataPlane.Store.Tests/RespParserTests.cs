using System.Buffers;
using System.Text;
using DataPlane.Store.Protocol.Resp;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Tests;

public sealed class RespParserTests
{
    private const long MaxBulk = 512L * 1024 * 1024;

    // Three array commands (one with binary bytes and an empty argument) and two inline ones (quotes, escapes).
    private static readonly byte[] Pipeline = Encoding.UTF8.GetBytes(
        "*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0y\r\n$0\r\n\r\n" +
        "*2\r\n$3\r\nGET\r\n$5\r\nk\r\n\0y\r\n" +
        "PING\r\n" +
        "set \"a b\" 'c\\'d' \"\\x41\\n\"\n" +
        "*1\r\n$6\r\nDBSIZE\r\n");

    private static readonly string[][] Expected =
    [
        ["SET", "k\r\n\0y", string.Empty],
        ["GET", "k\r\n\0y"],
        ["PING"],
        ["set", "a b", "c'd", "A\n"],
        ["DBSIZE"],
    ];

    [Fact]
    public void Parse_OneSegment_ReadsEveryCommand() => Assert.Equal(Expected, ParseAll(new ReadOnlySequence<byte>(Pipeline)));

    [Fact]
    public void Parse_EverySplitPoint_ReadsTheSameCommands()
    {
        for (var cut = 1; cut < Pipeline.Length; cut++)
        {
            Assert.Equal(Expected, ParseAll(Segments.Split(Pipeline, cut)));
        }
    }

    [Fact]
    public void Parse_ByteByByte_ReadsTheSameCommands() => Assert.Equal(Expected, ParseAll(Segments.ByteByByte(Pipeline)));

    [Fact]
    public void Parse_EveryPrefix_IsIncompleteUntilTheFrameEnds()
    {
        var frame = Encoding.UTF8.GetBytes("*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n");
        using var request = new RespRequest();
        for (var length = 0; length < frame.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, length));
            Assert.Equal(ParseStatus.Incomplete, RespParser.TryParse(ref reader, request, MaxBulk, out _));
            Assert.Equal(0, reader.Consumed);
        }
    }

    [Theory]
    [InlineData("*1\r\n!3\r\nGET\r\n", "Protocol error: expected '$', got '!'")]
    [InlineData("*1\r\n$-3\r\nGET\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$x\r\nGET\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*-2\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*zz\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*2000000\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$3\r\nGETxx", "Protocol error: expected CRLF after bulk string")]
    [InlineData("*1\r\n$600000000\r\n", "Protocol error: invalid bulk length")]
    [InlineData("SET \"a b\n", "Protocol error: unbalanced quotes in request")]
    public void Parse_MalformedFrame_IsAProtocolError(string input, string message)
    {
        using var request = new RespRequest();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(input)));
        Assert.Equal(ParseStatus.Error, RespParser.TryParse(ref reader, request, MaxBulk, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Parse_AnnouncedHugeBulk_NeedsMoreDataWithoutAllocatingForIt()
    {
        var header = Encoding.UTF8.GetBytes("*2\r\n$3\r\nSET\r\n$400000000\r\nabc");
        using var request = new RespRequest();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(header));
        Assert.Equal(ParseStatus.Incomplete, RespParser.TryParse(ref reader, request, MaxBulk, out _));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
    }

    [Fact]
    public void Parse_InlineLineOverLimit_IsAProtocolError()
    {
        using var request = new RespRequest();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(new byte[RespParser.MaxInlineLength + 10].Select(_ => (byte)'a').ToArray()));
        Assert.Equal(ParseStatus.Error, RespParser.TryParse(ref reader, request, MaxBulk, out var error));
        Assert.Equal("Protocol error: too big inline request", error);
    }

    private static string[][] ParseAll(ReadOnlySequence<byte> input)
    {
        using var request = new RespRequest();
        var reader = new SequenceReader<byte>(input);
        var commands = new List<string[]>();
        while (RespParser.TryParse(ref reader, request, MaxBulk, out var error) is var status && status != ParseStatus.Incomplete)
        {
            Assert.True(status == ParseStatus.Complete, error);
            commands.Add(Enumerable.Range(0, request.Count).Select(i => Encoding.UTF8.GetString(request[i])).ToArray());
        }

        Assert.Equal(input.Length, reader.Consumed);
        return [.. commands];
    }

    [Fact]
    public void KeyHashes_TakesTheFirstArgumentOfEachWholeCommandInTheFirstSegment()
    {
        byte[][] commands =
        [
            "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"u8.ToArray(),
            "*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n"u8.ToArray(),
            "*1\r\n$4\r\nPING\r\n"u8.ToArray(),
            "GET k3\r\n"u8.ToArray(),
        ];
        long[] keys = [FasterPrefetch.Hash("k1"u8), FasterPrefetch.Hash("k2"u8), FasterPrefetch.Hash("k3"u8)];
        var wire = commands.SelectMany(c => c).Concat("*2\r\n$3\r\nGET\r\n$2\r\nk"u8.ToArray()).ToArray();
        using var scratch = new RespRequest();
        var hashes = new long[16];

        // PING has no key but counts as seen; the last command is cut short and ends the look-ahead.
        Assert.Equal(3, RespParser.KeyHashes(new ReadOnlySequence<byte>(wire), scratch, 1024, hashes, out var seen));
        Assert.Equal(4, seen);
        Assert.Equal(keys, hashes[..3]);

        // At most as many commands as the window holds.
        Assert.Equal(2, RespParser.KeyHashes(new ReadOnlySequence<byte>(wire), scratch, 1024, hashes.AsSpan(0, 2), out seen));
        Assert.Equal(2, seen);

        // Only the first segment is read, wherever it ends: the commands whole in it, no more.
        for (var cut = 1; cut < wire.Length; cut++)
        {
            var whole = 0;
            for (var end = 0; whole < commands.Length && end + commands[whole].Length <= cut; whole++)
            {
                end += commands[whole].Length;
            }

            var filled = RespParser.KeyHashes(Segments.Split(wire, cut), scratch, 1024, hashes, out seen);
            Assert.Equal(whole, seen);
            Assert.Equal(keys.Take(whole - (whole >= 3 ? 1 : 0)), hashes[..filled]);
        }

        // A command that does not parse ends it too.
        Assert.Equal(0, RespParser.KeyHashes(new ReadOnlySequence<byte>("*x\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"u8.ToArray()), scratch, 1024, hashes, out seen));
        Assert.Equal(0, seen);
    }
}
