using System.Globalization;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary>
/// A node killed while it writes a checkpoint when an older whole one exists: it starts from the older
/// checkpoint and the write-ahead log segments kept after it, and every acknowledged write is there.
/// </summary>
public sealed class LaterCheckpointKillTests
{
    [Fact]
    public async Task KilledDuringALaterCheckpoint_StartsFromTheOlderCheckpointAndTheLog()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            var (child, endPoint) = await StoreProcess.StartAsync(directory, "--fsync", "always", "--checkpoint-interval", "200ms");
            using (child)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint } });
                var db = redis.GetDatabase();
                Assert.True(await db.StringSetAsync("before", "checkpointed"));
                // A checkpoint deletes the log segments it covers only once it is whole.
                await DataPlane.Testing.Eventually.True(() => WalSegments(directory) is [> 0, ..], "a whole checkpoint that deleted the first log segment", TimeSpan.FromSeconds(30));
                Assert.True(await db.StringSetAsync("after", "logged"));
                await child.KillAsync();
                await child.WaitForExitAsync();
            }

            // What a kill during a later checkpoint leaves beside the whole one: a newer token whose metadata is not whole.
            var token = Directory.CreateDirectory(Path.Combine(directory, "checkpoints", "cpr-checkpoints", Guid.NewGuid().ToString()));
            await File.WriteAllBytesAsync(Path.Combine(token.FullName, "info.dat"), new byte[16]);
            var (again, endPoint2) = await StoreProcess.StartAsync(directory);
            using (again)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint2 } });
                var db = redis.GetDatabase();
                Assert.Equal("checkpointed", await db.StringGetAsync("before"));
                Assert.Equal("logged", await db.StringGetAsync("after"));
                Assert.Equal(0, await again.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The numbers of the write-ahead log's segments (<c>wal-NNNNNNNNNNNNNNNNNNNN.log</c>), in order.</summary>
    private static long[] WalSegments(string directory) =>
        [.. Directory.EnumerateFiles(directory, "wal-*.log").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f)[4..], CultureInfo.InvariantCulture)).Order()];
}
