using System.Net;
using DataPlane.Log.Groups;
using DataPlane.Log.Server;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>An in-process broker on an ephemeral loopback port over a temporary data directory.</summary>
internal sealed class Broker : IAsyncDisposable
{
    private readonly int _maxFetchBytes;

    private Broker(string directory, KafkaServer server, int maxFetchBytes)
    {
        Directory = directory;
        Server = server;
        _maxFetchBytes = maxFetchBytes;
    }

    public string Directory { get; }

    public KafkaServer Server { get; private set; }

    public string Bootstrap => $"127.0.0.1:{Server.EndPoint.Port}";

    public static async Task<Broker> StartAsync(string? directory = null, int port = 0, int maxFetchBytes = 55 << 20)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "dataplane-kafka-" + Guid.NewGuid().ToString("N"));
        var server = new KafkaServer(Options(directory, port, maxFetchBytes));
        await server.StartAsync();
        return new Broker(directory, server, maxFetchBytes);
    }

    /// <summary>Stops the broker and starts a new one on the same directory and port.</summary>
    public async Task RestartAsync()
    {
        var port = Server.EndPoint.Port;
        await Server.StopAsync();
        Server = new KafkaServer(Options(Directory, port, _maxFetchBytes));
        await Server.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static KafkaServerOptions Options(string directory, int port, int maxFetchBytes) => new()
    {
        MaxFetchBytes = maxFetchBytes,
        Listen = new IPEndPoint(IPAddress.Loopback, port),
        Log = new CommitLogOptions { DataDirectory = directory },
        Groups = new GroupCoordinatorOptions { InitialRebalanceDelay = TimeSpan.FromMilliseconds(300) },
        DefaultPartitions = 3,
    };
}
