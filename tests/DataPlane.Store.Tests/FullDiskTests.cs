namespace DataPlane.Store.Tests;

/// <summary>A full disk (the log segment is /dev/full, where every write fails with ENOSPC) fails writes and corrupts nothing.</summary>
public sealed class FullDiskTests
{
    [Theory]
    [InlineData(FsyncMode.Always)]
    [InlineData(FsyncMode.EverySecond)]
    public async Task FullDisk_FailsWritesWithAnError_AndRecoveryKeepsWhatWasAcknowledged(FsyncMode fsync)
    {
        var directory = TestStore.NewDirectory();
        try
        {
            await using (var store = await TestStore.StartAsync(o => o.Fsync = fsync, directory))
            {
                using (var client = new RawClient(store.EndPoint))
                {
                    client.Command("SET", "acknowledged", "1");
                    Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
                }

                // The next segment, which the checkpoint's rotation opens, is a full disk.
                File.CreateSymbolicLink(Path.Combine(directory, $"wal-{1:D20}.log"), "/dev/full");
                await store.Server.CheckpointAsync();

                using (var refused = new RawClient(store.EndPoint))
                {
                    refused.Command("SET", "refused", "2");
                    Assert.True(await refused.IsClosedByServerAsync(), "a write the log could not take must not be acknowledged");
                }

                using var later = new RawClient(store.EndPoint);
                later.Command("SET", "later", "3");
                Assert.StartsWith("-ERR the write-ahead log failed: ", await later.ReadReplyAsync());
                later.Command("GET", "acknowledged");
                Assert.Equal("$1\r\n1\r\n", await later.ReadReplyAsync());
                await store.Server.StopAsync();
            }

            File.Delete(Path.Combine(directory, $"wal-{1:D20}.log"));
            await using (var again = await TestStore.StartAsync(o => o.Fsync = fsync, directory))
            {
                using var client = new RawClient(again.EndPoint);
                // "refused" was applied in memory before the log failed and was never acknowledged: the
                // final checkpoint may hold it. "later" was refused before it was applied.
                client.Command("MGET", "acknowledged", "later");
                Assert.Equal("*2\r\n$1\r\n1\r\n$-1\r\n", await client.ReadReplyAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
