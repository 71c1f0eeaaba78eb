using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary>Every command of the issue through StackExchange.Redis against the server in-process.</summary>
public sealed class CommandTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private ConnectionMultiplexer _redis = null!;
    private IDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.StartAsync();
        _redis = await _store.ConnectAsync();
        _db = _redis.GetDatabase();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task PingAndEcho_Answer()
    {
        Assert.True(await _db.PingAsync() >= TimeSpan.Zero);
        Assert.Equal("PONG", (string?)await _db.ExecuteAsync("PING"));
        Assert.Equal("hi", (string?)await _db.ExecuteAsync("PING", "hi"));
        Assert.Equal("hello", (string?)await _db.ExecuteAsync("ECHO", "hello"));
    }

    [Fact]
    public async Task SetGet_RoundTripsAndMissingKeyIsNull()
    {
        Assert.True(await _db.StringSetAsync("k", "v"));
        Assert.Equal("v", await _db.StringGetAsync("k"));
        Assert.True((await _db.StringGetAsync("missing")).IsNull);
    }

    [Fact]
    public async Task Set_NxXxAndGet_FollowRedis()
    {
        Assert.True(await _db.StringSetAsync("nx", "1", when: When.NotExists));
        Assert.False(await _db.StringSetAsync("nx", "2", when: When.NotExists));
        Assert.Equal("1", await _db.StringGetAsync("nx"));
        Assert.False(await _db.StringSetAsync("xx", "1", when: When.Exists));
        Assert.True((await _db.StringGetAsync("xx")).IsNull);
        Assert.True(await _db.StringSetAsync("nx", "3", when: When.Exists));
        Assert.Equal("3", await _db.StringSetAndGetAsync("nx", "4"));
        Assert.Equal("4", await _db.StringGetAsync("nx"));
        Assert.True((await _db.StringSetAndGetAsync("fresh", "x")).IsNull);
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("SET", "kt", "a", "EX", "100"));
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("SET", "kt", "b", "KEEPTTL"));
        Assert.InRange((long)await _db.ExecuteAsync("TTL", "kt"), 90, 100);
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("SET", "kt", "c", "PX", "5000"));
        Assert.InRange((long)await _db.ExecuteAsync("PTTL", "kt"), 1000, 5000);
    }

    [Fact]
    public async Task Set_BadOptions_AreRedisErrors()
    {
        await AssertError("ERR syntax error", "SET", "k", "v", "NX", "XX");
        await AssertError("ERR syntax error", "SET", "k", "v", "BOGUS");
        await AssertError("ERR syntax error", "SET", "k", "v", "EX", "10", "PX", "10");
        await AssertError("ERR value is not an integer or out of range", "SET", "k", "v", "EX", "ten");
        await AssertError("ERR invalid expire time in 'set' command", "SET", "k", "v", "EX", "0");
        await AssertError("ERR wrong number of arguments for 'set' command", "SET", "k");
        await AssertError("ERR wrong number of arguments for 'get' command", "GET");
        await AssertError("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ", "NOSUCH", "a", "b");
    }

    [Fact]
    public async Task DelExists_CountKeys()
    {
        await _db.StringSetAsync("a", "1");
        await _db.StringSetAsync("b", "2");
        Assert.Equal(2, await _db.KeyExistsAsync(["a", "b", "c"]));
        Assert.Equal(3L, (long)await _db.ExecuteAsync("EXISTS", "a", "a", "b"));
        Assert.Equal(2, await _db.KeyDeleteAsync(["a", "b", "c"]));
        Assert.False(await _db.KeyExistsAsync("a"));
        Assert.False(await _db.KeyDeleteAsync("a"));
        Assert.True(await _db.StringSetAsync("a", "again"));
        Assert.Equal("again", await _db.StringGetAsync("a"));
    }

    [Fact]
    public async Task MGetMSet_WorkOnManyKeys()
    {
        Assert.True(await _db.StringSetAsync([new("m1", "1"), new("m2", "2")]));
        var values = await _db.StringGetAsync(["m1", "nope", "m2"]);
        Assert.Equal(["1", null, "2"], values.Select(v => (string?)v));
        await AssertError("ERR wrong number of arguments for 'mset' command", "MSET", "a", "1", "b");
    }

    [Fact]
    public async Task ExpireTtlPersist_FollowRedis()
    {
        await _db.StringSetAsync("e", "v");
        Assert.Equal(-1L, (long)await _db.ExecuteAsync("TTL", "e"));
        Assert.Equal(-2L, (long)await _db.ExecuteAsync("TTL", "none"));
        Assert.Equal(-2L, (long)await _db.ExecuteAsync("PTTL", "none"));
        Assert.True(await _db.KeyExpireAsync("e", TimeSpan.FromSeconds(100)));
        Assert.InRange((long)await _db.ExecuteAsync("TTL", "e"), 90, 100);
        Assert.Equal(1L, (long)await _db.ExecuteAsync("PEXPIRE", "e", "50000"));
        Assert.InRange((long)await _db.ExecuteAsync("PTTL", "e"), 40_000, 50_000);
        Assert.True(await _db.KeyPersistAsync("e"));
        Assert.False(await _db.KeyPersistAsync("e"));
        Assert.Equal(-1L, (long)await _db.ExecuteAsync("TTL", "e"));
        Assert.Equal(0L, (long)await _db.ExecuteAsync("EXPIRE", "none", "10"));
        Assert.Equal(1L, (long)await _db.ExecuteAsync("EXPIRE", "e", "-1"));
        Assert.False(await _db.KeyExistsAsync("e"));
        await AssertError("ERR value is not an integer or out of range", "EXPIRE", "e", "soon");
    }

    [Fact]
    public async Task IncrDecr_CountAndRefuseNonIntegers()
    {
        Assert.Equal(1, await _db.StringIncrementAsync("n"));
        Assert.Equal(11, await _db.StringIncrementAsync("n", 10));
        Assert.Equal(10, await _db.StringDecrementAsync("n"));
        Assert.Equal(-5, await _db.StringDecrementAsync("n", 15));
        Assert.Equal("-5", await _db.StringGetAsync("n"));
        await _db.StringSetAsync("s", "abc");
        await AssertError("ERR value is not an integer or out of range", "INCR", "s");
        await _db.StringSetAsync("big", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await AssertError("ERR increment or decrement would overflow", "INCR", "big");
        await AssertError("ERR value is not an integer or out of range", "INCRBY", "n", "x");
    }

    [Fact]
    public async Task AppendStrLen_GrowTheValue()
    {
        Assert.Equal(5, await _db.StringAppendAsync("ap", "hello"));
        Assert.Equal(11, await _db.StringAppendAsync("ap", " world"));
        Assert.Equal("hello world", await _db.StringGetAsync("ap"));
        Assert.Equal(11, await _db.StringLengthAsync("ap"));
        Assert.Equal(0, await _db.StringLengthAsync("none"));
    }

    [Fact]
    public async Task DbSizeFlushDb_CountAndClear()
    {
        var server = _redis.GetServer(_store.EndPoint);
        await _db.StringSetAsync("x", "1");
        await _db.StringSetAsync("y", "2", TimeSpan.FromMinutes(1));
        Assert.Equal(2, await server.DatabaseSizeAsync());
        var keyspace = (await server.InfoAsync("keyspace")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("keys=2,expires=1,avg_ttl=0", keyspace["db0"]);
        await server.FlushDatabaseAsync();
        Assert.Equal(0, await server.DatabaseSizeAsync());
        Assert.True((await _db.StringGetAsync("x")).IsNull);
    }

    [Fact]
    public async Task Info_HasTheSectionsToolsRead()
    {
        var info = (string?)await _db.ExecuteAsync("INFO");
        foreach (var section in new[] { "# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace" })
        {
            Assert.Contains(section, info);
        }

        Assert.Contains("redis_version:", info);
        Assert.Contains("connected_clients:", info);
        Assert.DoesNotContain("# Server", (string?)await _db.ExecuteAsync("INFO", "stats"));
    }

    [Fact]
    public async Task HandshakeCommands_AnswerAsRedis()
    {
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("SELECT", "0"));
        await AssertError("ERR DB index is out of range", "SELECT", "1");
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("CLIENT", "SETNAME", "tester"));
        Assert.Equal("tester", (string?)await _db.ExecuteAsync("CLIENT", "GETNAME"));
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("CLIENT", "SETINFO", "lib-name", "x"));
        var hello = (RedisResult[])(await _db.ExecuteAsync("HELLO", "2"))!;
        Assert.Equal("proto", (string?)hello[4]);
        Assert.Equal(2L, (long)hello[5]);
        await AssertError("NOPROTO unsupported protocol version", "HELLO", "3");
        var config = (RedisResult[])(await _db.ExecuteAsync("CONFIG", "GET", "append*"))!;
        Assert.Equal(["appendonly", "yes", "appendfsync", "everysec"], config.Select(r => (string?)r));
        Assert.True((long)await _db.ExecuteAsync("COMMAND", "COUNT") > 20);
        Assert.Empty((RedisResult[])(await _db.ExecuteAsync("COMMAND", "DOCS"))!);
        var get = (RedisResult[])((RedisResult[])(await _db.ExecuteAsync("COMMAND", "INFO", "get"))!)[0]!;
        Assert.Equal("get", (string?)get[0]);
        Assert.Equal(2L, (long)get[1]);
    }

    [Fact]
    public async Task BinaryKeysAndValues_RoundTrip()
    {
        var key = new byte[] { 0, 13, 10, 255, 42, 0 };
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Assert.True(await _db.StringSetAsync(key, value));
        Assert.Equal(value, (byte[]?)await _db.StringGetAsync(key));
    }

    [Fact]
    public async Task TenMebibyteValue_RoundTrips()
    {
        var value = new byte[10 * 1024 * 1024];
        new Random(6).NextBytes(value);
        Assert.True(await _db.StringSetAsync("big", value));
        Assert.Equal(value, (byte[]?)await _db.StringGetAsync("big"));
        Assert.Equal(value.Length, await _db.StringLengthAsync("big"));
    }

    [Fact]
    public async Task Pipelining_TenThousandCommands_AllAnswered()
    {
        var batch = _db.CreateBatch();
        var sets = Enumerable.Range(0, 5000).Select(i => batch.StringSetAsync($"p{i}", i)).ToArray();
        var gets = Enumerable.Range(0, 5000).Select(i => batch.StringGetAsync($"p{i}")).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        var values = await Task.WhenAll(gets);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => (long)i), values.Select(v => (long)v));
    }

    [Fact]
    public async Task Quit_RepliesOkAndCloses()
    {
        using var client = new RawClient(_store.EndPoint);
        client.Command("QUIT");
        Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedByServerAsync());
    }

    private async Task AssertError(string message, string command, params object[] args)
    {
        var error = await Assert.ThrowsAsync<RedisServerException>(() => _db.ExecuteAsync(command, args));
        Assert.Equal(message, error.Message);
    }
}
