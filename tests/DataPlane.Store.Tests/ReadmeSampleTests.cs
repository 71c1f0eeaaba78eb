using System.Net;
using DataPlane.Testing;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

public sealed class ReadmeSampleTests
{
    [Fact]
    public async Task ReadmeStoreSample_RunsAndMatchesTheReadme()
    {
        var directory = TestStore.NewDirectory();
        try
        {
            #region readme-store
            await using var server = new StoreServer(new StoreOptions
            {
                Listen = new IPEndPoint(IPAddress.Loopback, 0), // port 0: read it back from server.EndPoint
                DataDirectory = directory,
                Fsync = FsyncMode.Always, // a reply is sent only after the fsync that covers its write
            });
            await server.StartAsync(); // recovers: newest checkpoint + write-ahead log

            await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.EndPoint.Port}");
            var db = redis.GetDatabase();
            await db.StringSetAsync("user:42", "Ada", TimeSpan.FromMinutes(5));
            var name = await db.StringGetAsync("user:42");

            await server.StopAsync(); // a final checkpoint
            #endregion

            Assert.Equal("Ada", name);
            Assert.Equal(Readme.Region("store"), Readme.Snippet("store"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
