namespace DataPlane.Store.Tests;

/// <summary>Checkpoints, write-ahead log trimming and recovery, in-process.</summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task Checkpoint_TrimsTheLog_AndRestartRecoversCheckpointPlusLog()
    {
        await using var store = await TestStore.StartAsync(o => o.Fsync = FsyncMode.No);
        await using (var redis = await store.ConnectAsync())
        {
            var db = redis.GetDatabase();
            for (var i = 0; i < 500; i++)
            {
                await db.StringSetAsync($"before{i}", i);
            }

            await db.KeyDeleteAsync("before7");
            await store.Server.CheckpointAsync();
            Assert.Single(Directory.GetFiles(store.Options.DataDirectory, "wal-*.log"));
            await db.StringSetAsync("after", "checkpoint", TimeSpan.FromHours(1));
            await db.StringIncrementAsync("before3", 100);
        }

        await store.RestartAsync();
        await using (var redis = await store.ConnectAsync())
        {
            var db = redis.GetDatabase();
            Assert.Equal(500, await redis.GetServer(store.EndPoint).DatabaseSizeAsync()); // 500 set, one deleted, "after" added
            Assert.Equal("checkpoint", await db.StringGetAsync("after"));
            Assert.InRange((long)await db.ExecuteAsync("TTL", "after"), 3500, 3600);
            Assert.Equal(103, (long)await db.StringGetAsync("before3"));
            Assert.True((await db.StringGetAsync("before7")).IsNull);
            Assert.Equal(499, (long)await db.StringGetAsync("before499"));

            // Versions stay ahead of everything recovered: a new write wins over the recovered one.
            await db.StringSetAsync("before3", "new");
            Assert.Equal("new", await db.StringGetAsync("before3"));
        }
    }
}
