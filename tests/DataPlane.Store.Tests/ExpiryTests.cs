using DataPlane.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Store.Tests;

/// <summary>Expiry on a fake clock: invisible at once, reclaimed by the background sweep.</summary>
public sealed class ExpiryTests
{
    [Fact]
    public async Task ExpiredKey_IsInvisibleAtOnceAndReclaimedInTheBackground()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = await TestStore.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.SweepInterval = TimeSpan.FromSeconds(1);
        });
        await using var redis = await store.ConnectAsync();
        var db = redis.GetDatabase();
        await db.StringSetAsync("short", "v", TimeSpan.FromSeconds(10));
        await db.StringSetAsync("long", "v", TimeSpan.FromSeconds(100));
        await db.StringSetAsync("forever", "v");
        Assert.Equal(10L, (long)await db.ExecuteAsync("TTL", "short"));

        clock.Advance(TimeSpan.FromMilliseconds(9_999));
        Assert.Equal("v", await db.StringGetAsync("short"));
        Assert.Equal(1L, (long)await db.ExecuteAsync("PTTL", "short"));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await db.StringGetAsync("short")).IsNull);
        Assert.False(await db.KeyExistsAsync("short"));
        Assert.Equal(-2L, (long)await db.ExecuteAsync("TTL", "short"));
        Assert.Equal("v", await db.StringGetAsync("long"));

        // The sweep runs on the fake clock's timer: DBSIZE counts the expired key until it is reclaimed, as Redis does.
        await Eventually.True(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return store.Server.KeyCount == 2;
        }, "the sweep to reclaim the expired key", TimeSpan.FromSeconds(30));
        Assert.Equal("v", await db.StringGetAsync("forever"));
    }

    [Fact]
    public async Task Incr_KeepsTheExpiry()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = await TestStore.StartAsync(o => o.TimeProvider = clock);
        await using var redis = await store.ConnectAsync();
        var db = redis.GetDatabase();
        await db.StringSetAsync("n", "1", TimeSpan.FromSeconds(5));
        Assert.Equal(2, await db.StringIncrementAsync("n"));
        Assert.Equal(5L, (long)await db.ExecuteAsync("TTL", "n"));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, await db.StringIncrementAsync("n"));
        Assert.Equal(-1L, (long)await db.ExecuteAsync("TTL", "n"));
    }
}
