using System.Collections.Concurrent;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary>Acknowledged writes survive kill -9 of the real executable (under load, during a checkpoint), and a clean stop checkpoints.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task KillNine_UnderLoadWithFsyncAlways_KeepsEveryAcknowledgedWrite()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            var acknowledged = new ConcurrentDictionary<string, string>();
            var (child, endPoint) = await StoreProcess.StartAsync(directory, "--fsync", "always", "--checkpoint-interval", "300ms");
            using (child)
            {
                var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
                {
                    EndPoints = { endPoint },
                    AbortOnConnectFail = true,
                    ConnectTimeout = 15_000,
                    SyncTimeout = 15_000,
                    AsyncTimeout = 15_000,
                    ConnectRetry = 0,
                });
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
                {
                    var db = redis.GetDatabase();
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        var key = $"w{w}:{i}";
                        var value = $"value-{w}-{i}-" + new string('x', i % 300);
                        try
                        {
                            if (await db.StringSetAsync(key, value))
                            {
                                acknowledged[key] = value;
                            }

                            // Overwrites of one key per writer: the newest acknowledged value must win after recovery.
                            if (await db.StringSetAsync($"last{w}", value))
                            {
                                acknowledged[$"last{w}"] = value;
                            }
                        }
                        catch (RedisException)
                        {
                            return; // The server was killed: this write was not acknowledged.
                        }
                    }
                })).ToArray();

                await DataPlane.Testing.Eventually.True(() => acknowledged.Count > 3000, "3000 acknowledged writes", TimeSpan.FromSeconds(60));
                await child.KillAsync();
                await child.WaitForExitAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
                await redis.DisposeAsync();
            }

            // A torn record at the tail, as a crash mid-write leaves it: recovery cuts it off.
            var newest = Directory.GetFiles(directory, "wal-*.log").Max()!;
            await File.AppendAllTextAsync(newest, "\u0040\0\0\0garbage");

            var (restarted, again) = await StoreProcess.StartAsync(directory, "--fsync", "always");
            using (restarted)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { again }, SyncTimeout = 15_000, AsyncTimeout = 15_000 });
                var db = redis.GetDatabase();
                var snapshot = acknowledged.ToArray();
                var values = await db.StringGetAsync(snapshot.Select(p => (RedisKey)p.Key).ToArray());
                var lost = snapshot.Where((p, i) => values[i] != p.Value && !p.Key.StartsWith("last", StringComparison.Ordinal)).Select(p => p.Key).ToList();
                Assert.True(lost.Count == 0, $"{lost.Count} of {snapshot.Length} acknowledged writes lost, e.g. {string.Join(", ", lost.Take(5))}");
                for (var w = 0; w < 8; w++)
                {
                    // The newest acknowledged value, or one written after it whose reply the kill cut off.
                    if (acknowledged.TryGetValue($"last{w}", out var last))
                    {
                        var recovered = (string?)await db.StringGetAsync($"last{w}");
                        Assert.NotNull(recovered);
                        Assert.True(Order(recovered) >= Order(last), $"last{w}: recovered {recovered}, acknowledged {last}");
                    }
                }

                Assert.Equal(0, await restarted.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Sigterm_CheckpointsAndExitsCleanly_DataSurvives()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            var (child, endPoint) = await StoreProcess.StartAsync(directory);
            using (child)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint } });
                await redis.GetDatabase().StringSetAsync("kept", "yes");
                Assert.Equal(0, await child.TerminateAsync());
                Assert.Contains("Stopped after a final checkpoint", child.Output);
            }

            Assert.True(Directory.Exists(Path.Combine(directory, "checkpoints")));
            var (again, endPoint2) = await StoreProcess.StartAsync(directory);
            using (again)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint2 } });
                Assert.Equal("yes", await redis.GetDatabase().StringGetAsync("kept"));
                Assert.Equal(0, await again.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task KilledDuringTheFirstCheckpoint_StartsFromTheWriteAheadLog()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            var (child, endPoint) = await StoreProcess.StartAsync(directory, "--fsync", "always", "--checkpoint-interval", "60m");
            using (child)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint } });
                Assert.True(await redis.GetDatabase().StringSetAsync("kept", "yes"));
                await child.KillAsync();
                await child.WaitForExitAsync();
            }

            await PlantTornCheckpointAsync(directory);
            await RestartAndReadAsync(directory, ("kept", "yes"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

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

            await PlantTornCheckpointAsync(directory);
            await RestartAndReadAsync(directory, ("before", "checkpointed"), ("after", "logged"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>What a kill during a checkpoint leaves: its token's folder, newer than any other, its metadata not written whole.</summary>
    private static async Task PlantTornCheckpointAsync(string directory)
    {
        var token = Directory.CreateDirectory(Path.Combine(directory, "checkpoints", "cpr-checkpoints", Guid.NewGuid().ToString()));
        await File.WriteAllBytesAsync(Path.Combine(token.FullName, "info.dat"), new byte[16]);
    }

    /// <summary>Starts the store on <paramref name="directory"/> again, reads every key back, and stops it cleanly.</summary>
    private static async Task RestartAndReadAsync(string directory, params (string Key, string Value)[] expected)
    {
        var (again, endPoint) = await StoreProcess.StartAsync(directory);
        using (again)
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint } });
            foreach (var (key, value) in expected)
            {
                Assert.Equal(value, await redis.GetDatabase().StringGetAsync(key));
            }

            Assert.Equal(0, await again.TerminateAsync());
        }
    }

    /// <summary>The numbers of the write-ahead log's segments (<c>wal-NNNNNNNNNNNNNNNNNNNN.log</c>), in order.</summary>
    private static long[] WalSegments(string directory) =>
        [.. Directory.EnumerateFiles(directory, "wal-*.log").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f)[4..], System.Globalization.CultureInfo.InvariantCulture)).Order()];

    private static int Order(string value) => int.Parse(value.Split('-')[2], System.Globalization.CultureInfo.InvariantCulture);
}
