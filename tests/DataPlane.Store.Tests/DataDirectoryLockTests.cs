using DataPlane.Testing;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary>One process per data directory: a second one on it lost the first one's acknowledged writes.</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public async Task ASecondProcessOnADirectoryInUse_RefusesToStart_AndAKilledHoldersDirectoryStartsAgain()
    {
        var directory = Directory.CreateTempSubdirectory("dataplane-lock-").FullName;
        try
        {
            var (first, endPoint) = await StoreProcess.StartAsync(directory);
            using (first)
            {
                await using (var redis = await ConnectionMultiplexer.ConnectAsync(endPoint.ToString()))
                {
                    Assert.True(await redis.GetDatabase().StringSetAsync("before", "1"));
                }

                using var second = await DataplaneChild.RunToExitAsync("store", ["--listen", "127.0.0.1:0", "--data", directory, "--max-memory", "64mb"]);
                Assert.Equal(1, second.ExitCode);
                Assert.Contains("is in use by another process", second.Output, StringComparison.Ordinal);

                // The refused process touched nothing: a write acknowledged after it survives the holder's SIGKILL.
                await using (var redis = await ConnectionMultiplexer.ConnectAsync(endPoint.ToString()))
                {
                    Assert.True(await redis.GetDatabase().StringSetAsync("after", "2"));
                }

                await first.KillAsync();
                await first.WaitForExitAsync();
            }

            // The kernel let the lock go with the killed process.
            var (restarted, again) = await StoreProcess.StartAsync(directory);
            using (restarted)
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(again.ToString());
                var db = redis.GetDatabase();
                Assert.Equal(("1", "2"), ((string?)await db.StringGetAsync("before"), (string?)await db.StringGetAsync("after")));
                Assert.Equal(0, await restarted.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ASecondServerInTheSameProcess_IsRefusedToo()
    {
        await using var store = await TestStore.StartAsync();
        await using var second = new StoreServer(new StoreOptions { DataDirectory = store.Options.DataDirectory, Listen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0) });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());
        Assert.Contains("is in use by another process", e.Message, StringComparison.Ordinal);
    }
}
