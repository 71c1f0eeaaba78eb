using System.Net;
using DataPlane.Store;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary>A store server on 127.0.0.1:0 over a fresh temporary directory, removed afterwards.</summary>
internal sealed class TestStore : IAsyncDisposable
{
    private readonly bool _ownsDirectory;

    private TestStore(StoreServer server, StoreOptions options, bool ownsDirectory)
    {
        Server = server;
        Options = options;
        _ownsDirectory = ownsDirectory;
    }

    public StoreServer Server { get; private set; }

    public StoreOptions Options { get; }

    public IPEndPoint EndPoint => Server.EndPoint;

    public static async Task<TestStore> StartAsync(Action<StoreOptions>? configure = null, string? directory = null)
    {
        var options = new StoreOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            DataDirectory = directory ?? NewDirectory(),
            MaxMemory = 64L << 20,
            CheckpointInterval = TimeSpan.FromHours(1),
        };
        configure?.Invoke(options);
        var server = new StoreServer(options);
        await server.StartAsync();
        return new TestStore(server, options, ownsDirectory: directory is null);
    }

    public static string NewDirectory() => Directory.CreateTempSubdirectory("dataplane-store-").FullName;

    /// <summary>Stops the server (final checkpoint) and starts a new one on the same directory.</summary>
    public async Task RestartAsync()
    {
        await Server.StopAsync();
        Options.Listen = new IPEndPoint(IPAddress.Loopback, 0);
        Server = new StoreServer(Options);
        await Server.StartAsync();
    }

    public async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var config = new ConfigurationOptions
        {
            EndPoints = { EndPoint },
            AllowAdmin = true,
            ConnectTimeout = 15_000,
            SyncTimeout = 15_000,
            AsyncTimeout = 15_000,
            AbortOnConnectFail = true,
        };
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(Options.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
