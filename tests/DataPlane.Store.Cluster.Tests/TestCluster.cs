using System.Net;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>Three (or more) in-process nodes on loopback, each stoppable and restartable on its own addresses and data.</summary>
internal sealed class TestCluster : IAsyncDisposable
{

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dp-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, (IPEndPoint Client, IPEndPoint Peer)> _addresses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoreServer?> _servers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConnectionMultiplexer> _clients = new(StringComparer.Ordinal);
    private readonly Action<ClusterOptions>? _configure;
    private readonly Dictionary<string, string> _joinedVia = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, TimeProvider> _clocks;
    private readonly StoreTransport? _transport;
    private readonly FsyncMode? _fsync;

    private TestCluster(string[] names, Action<ClusterOptions>? configure, Dictionary<string, IPEndPoint>? extraPeers, string? clusterName, IReadOnlyDictionary<string, TimeProvider>? clocks, StoreTransport? transport = null, FsyncMode? fsync = null)
    {
        _configure = configure;
        _clocks = clocks ?? new Dictionary<string, TimeProvider>();
        _transport = transport;
        _fsync = fsync;
        ClusterName = clusterName ?? UniqueName();
        foreach (var name in names)
        {
            _addresses[name] = (Ports.Free(), Ports.Free());
        }

        ExtraPeers = extraPeers ?? [];
    }

    public IReadOnlyDictionary<string, IPEndPoint> ExtraPeers { get; }

    /// <summary>Unique per test cluster: tests running side by side may be handed each other's released ports, and must not talk.</summary>
    public string ClusterName { get; }

    public static string UniqueName() => "t" + Guid.NewGuid().ToString("N");

    /// <summary>Starts every node and waits until they see each other; <paramref name="clocks"/> gives some nodes a clock of their own, <paramref name="transport"/> every node its clients' transport, <paramref name="fsync"/> its fsync mode.</summary>
    public static async Task<TestCluster> StartAsync(
        string[]? names = null,
        Action<ClusterOptions>? configure = null,
        Dictionary<string, IPEndPoint>? extraPeers = null,
        string? clusterName = null,
        IReadOnlyDictionary<string, TimeProvider>? clocks = null,
        StoreTransport? transport = null,
        FsyncMode? fsync = null)
    {
        var cluster = new TestCluster(names ?? ["a", "b", "c"], configure, extraPeers, clusterName, clocks, transport, fsync);
        foreach (var name in cluster._addresses.Keys)
        {
            await cluster.StartNodeAsync(name);
        }

        await cluster.WaitAllUpAsync();
        return cluster;
    }

    /// <summary>Starts only <paramref name="running"/> of <paramref name="names"/>, one after another, without waiting for any node to see its peers.</summary>
    public static async Task<TestCluster> StartWithoutWaitingAsync(string[] names, params string[] running)
    {
        var cluster = new TestCluster(names, configure: null, extraPeers: null, clusterName: null, clocks: null);
        foreach (var name in running)
        {
            await cluster.StartNodeAsync(name);
        }

        return cluster;
    }

    public StoreServer Server(string name) => _servers[name] ?? throw new InvalidOperationException($"{name} is stopped");

    public IDatabase Db(string name)
    {
        if (!_clients.TryGetValue(name, out var client))
        {
            client = ConnectionMultiplexer.Connect($"{_addresses[name].Client},abortConnect=false,allowAdmin=true,connectTimeout=10000,syncTimeout=20000,asyncTimeout=20000");
            _clients[name] = client;
        }

        return client.GetDatabase();
    }

    public string DataDirectory(string name) => Path.Combine(_root, name);

    public ClusterOptions OptionsFor(string name)
    {
        var options = new ClusterOptions
        {
            NodeId = name,
            ClusterName = ClusterName,
            PeerListen = _addresses[name].Peer,
            HeartbeatInterval = TimeSpan.FromMilliseconds(100),
            SuspectAfter = TimeSpan.FromSeconds(3),
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        if (_joinedVia.TryGetValue(name, out var seed))
        {
            options.Join = _addresses[seed].Peer;
        }

        foreach (var (peer, addresses) in _addresses)
        {
            if (peer != name && !_joinedVia.ContainsKey(name) && !_joinedVia.ContainsKey(peer))
            {
                options.Peers[peer] = addresses.Peer;
            }
        }

        foreach (var (peer, address) in ExtraPeers)
        {
            options.Peers[peer] = address;
        }

        _configure?.Invoke(options);
        return options;
    }

    public async Task StartNodeAsync(string name)
    {
        var options = new StoreOptions
        {
            Listen = _addresses[name].Client,
            DataDirectory = DataDirectory(name),
            MaxMemory = 64L << 20,
            Cluster = OptionsFor(name),
            TimeProvider = _clocks.GetValueOrDefault(name) ?? TimeProvider.System,
        };
        if (_transport is { } transport)
        {
            options.Transport = transport;
        }

        if (_fsync is { } fsync)
        {
            options.Fsync = fsync;
        }

        var server = new StoreServer(options);
        await server.StartAsync();
        _servers[name] = server;
    }

    /// <summary>Starts a new node that joins the running cluster through <paramref name="seed"/> (its <c>--join</c>).</summary>
    public Task JoinNodeAsync(string name, string seed)
    {
        _addresses[name] = (Ports.Free(), Ports.Free());
        _joinedVia[name] = seed;
        return StartNodeAsync(name);
    }

    public IPEndPoint PeerAddress(string name) => _addresses[name].Peer;

    public IPEndPoint ClientAddress(string name) => _addresses[name].Client;

    public async Task StopNodeAsync(string name)
    {
        if (_servers[name] is { } server)
        {
            _servers[name] = null;
            await server.DisposeAsync();
        }
    }

    /// <summary>Waits until every running node sees every other running node as up.</summary>
    public Task WaitAllUpAsync() => Testing.Eventually.True(
        () => _servers.Values.OfType<StoreServer>().All(s => s.ClusterNode!.Peers.All(p => _servers.GetValueOrDefault(p.Name) is null || !p.Suspected)),
        "every running node sees the others up",
        TimeSpan.FromSeconds(30));

    /// <summary>Waits until every running node sees <paramref name="name"/> as down.</summary>
    public Task WaitDownAsync(string name) => Testing.Eventually.True(
        () => _servers.Values.OfType<StoreServer>().All(s => s.ClusterNode!.Peers.All(p => p.Name != name || p.Suspected)),
        $"every running node sees {name} down",
        TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            await client.DisposeAsync();
        }

        foreach (var name in _servers.Keys.ToList())
        {
            await StopNodeAsync(name);
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by the OS: the temp directory is cleaned later.
        }
    }
}
