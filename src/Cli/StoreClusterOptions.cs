using System.CommandLine;
using System.Net;
using DataPlane.Store.Cluster;

namespace DataPlane.Cli;

/// <summary>The flags of <c>dataplane store</c> that make it a cluster node, and their validation (1 &lt;= R, W &lt;= N).</summary>
internal sealed class StoreClusterOptions
{
    private readonly Option<string?> _nodeId = new("--node-id") { Description = "This node's name (letters, digits, '-', '_'); turns on clustering. Kept in the data directory." };
    private readonly Option<string> _peerListen = new("--peer-listen") { Description = "Address other nodes replicate to.", DefaultValueFactory = _ => "127.0.0.1:17001" };
    private readonly Option<string> _peers = new("--peers") { Description = "The other nodes: name=ADDRESS:PORT,name=ADDRESS:PORT (their --peer-listen).", DefaultValueFactory = _ => string.Empty };
    private readonly Option<int> _replicas = new("--replicas") { Description = "N: nodes that hold each key.", DefaultValueFactory = _ => 3 };
    private readonly Option<int> _readQuorum = new("--read-quorum") { Description = "R: replicas that must answer a read.", DefaultValueFactory = _ => 2 };
    private readonly Option<int> _writeQuorum = new("--write-quorum") { Description = "W: replicas that must apply a write before it is acknowledged.", DefaultValueFactory = _ => 2 };
    private readonly Option<string> _requestTimeout = new("--request-timeout") { Description = "Longest a request waits for its quorum: 500ms, 2s.", DefaultValueFactory = _ => "2s" };
    private readonly Option<string> _suspectAfter = new("--suspect-after") { Description = "Silence after which a peer is suspected and skipped: 2s.", DefaultValueFactory = _ => "2s" };
    private readonly Option<string> _heartbeat = new("--heartbeat-interval") { Description = "Time between heartbeats to each peer: 250ms.", DefaultValueFactory = _ => "250ms" };
    private readonly Option<string> _clusterName = new("--cluster-name") { Description = "The cluster's name; nodes refuse peers of another cluster.", DefaultValueFactory = _ => "dataplane" };
    private readonly Option<string?> _join = new("--join") { Description = "A running node's --peer-listen address: join that cluster (in a new epoch; partitions stream here) instead of listing --peers." };
    private readonly Option<int> _partitions = new("--partitions") { Description = "Q: fixed partitions of the hash space (a power of two); every node must agree.", DefaultValueFactory = _ => 4096 };

    private readonly Option<string> _antiEntropyInterval = new("--anti-entropy-interval") { Description = "Time between anti-entropy rounds (Merkle tree comparison with the other replicas): 10s, or off.", DefaultValueFactory = _ => "10s" };
    private readonly Option<int> _antiEntropyRate = new("--anti-entropy-rate") { Description = "Values anti-entropy sends or fetches per second and peer, at most.", DefaultValueFactory = _ => 10_000 };
    private readonly Option<int> _hintRate = new("--hint-rate") { Description = "Hints handed to a returning node per second, at most.", DefaultValueFactory = _ => new ClusterOptions().HintsPerSecond };

    public static StoreClusterOptions Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_nodeId);
        foreach (var option in ClusterOnly())
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The flags that mean something only with --node-id.</summary>
    private Option[] ClusterOnly() => [_clusterName, _peerListen, _peers, _replicas, _readQuorum, _writeQuorum, _requestTimeout, _suspectAfter, _heartbeat, _partitions, _antiEntropyInterval, _antiEntropyRate, _hintRate, _join];

    /// <summary>The cluster settings (null without --node-id), or false with the reason they are invalid.</summary>
    public bool TryBuild(ParseResult parse, out ClusterOptions? options, out string error)
    {
        options = null;
        error = string.Empty;
        var nodeId = parse.GetValue(_nodeId);
        if (nodeId is null)
        {
            // A node started without its id would serve alone, its cluster flags ignored: a typo must not do that.
            var given = ClusterOnly().Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
            if (given.Count == 0)
            {
                return true;
            }

            error = $"{string.Join(", ", given)} need --node-id (without it the store runs as a single node).";
            return false;
        }

        if (!IPEndPoint.TryParse(parse.GetValue(_peerListen)!, out var peerListen))
        {
            error = $"--peer-listen must be ADDRESS:PORT, got '{parse.GetValue(_peerListen)}'.";
            return false;
        }

        if (!StoreCommand.TryParseDuration(parse.GetValue(_requestTimeout)!, out var timeout)
            || !StoreCommand.TryParseDuration(parse.GetValue(_suspectAfter)!, out var suspect)
            || !StoreCommand.TryParseDuration(parse.GetValue(_heartbeat)!, out var heartbeat))
        {
            error = "--request-timeout, --suspect-after and --heartbeat-interval take 500ms, 2s or 1m.";
            return false;
        }

        var antiEntropy = parse.GetValue(_antiEntropyInterval)!;
        var antiEntropyOff = antiEntropy.Equals("off", StringComparison.OrdinalIgnoreCase);
        var antiEntropyInterval = TimeSpan.FromSeconds(10);
        if (!antiEntropyOff && !StoreCommand.TryParseDuration(antiEntropy, out antiEntropyInterval))
        {
            error = $"--anti-entropy-interval takes 500ms, 10s, 1m or off; got '{antiEntropy}'.";
            return false;
        }

        options = new ClusterOptions
        {
            NodeId = nodeId,
            ClusterName = parse.GetValue(_clusterName)!,
            PeerListen = peerListen,
            Replicas = parse.GetValue(_replicas),
            ReadQuorum = parse.GetValue(_readQuorum),
            WriteQuorum = parse.GetValue(_writeQuorum),
            RequestTimeout = timeout,
            SuspectAfter = suspect,
            HeartbeatInterval = heartbeat,
            Partitions = parse.GetValue(_partitions),
            AntiEntropy = !antiEntropyOff,
            AntiEntropyInterval = antiEntropyInterval,
            AntiEntropyKeysPerSecond = parse.GetValue(_antiEntropyRate),
            HintsPerSecond = parse.GetValue(_hintRate),
        };
        if (parse.GetValue(_join) is { } join)
        {
            if (!IPEndPoint.TryParse(join, out var seed))
            {
                error = $"--join must be ADDRESS:PORT, got '{join}'.";
                return false;
            }

            options.Join = seed;
        }

        foreach (var entry in parse.GetValue(_peers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !IPEndPoint.TryParse(entry[(equals + 1)..], out var address) || !options.Peers.TryAdd(entry[..equals], address))
            {
                error = $"--peers takes name=ADDRESS:PORT pairs separated by commas, each name once; got '{entry}'.";
                return false;
            }
        }

        var errors = options.Validate(out var warning);
        if (errors.Count > 0)
        {
            error = string.Join("; ", errors) + ".";
            return false;
        }

        if (warning is not null)
        {
            Console.Error.WriteLine("dataplane store: warning: " + warning);
        }

        return true;
    }
}
