using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Log.Groups;
using DataPlane.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Log.Server;

/// <summary>
/// A single-node Kafka broker over a <see cref="CommitLog"/> and a <see cref="GroupCoordinator"/>: Kafka clients
/// (librdkafka, Confluent.Kafka, kcat, the Java client) produce, fetch and join consumer groups against it.
/// Start it, read <see cref="EndPoint"/>, and stop or dispose it to close the log cleanly. Its metrics are on the
/// <c>DataPlane.Log</c> meter (System.Diagnostics.Metrics): requests by API and error code, bytes in and out, produce
/// and fetch latency, log end offset and size per partition, groups by state, and lag per group and partition.
/// </summary>
public sealed partial class KafkaServer : IAsyncDisposable, IConnectionDispatcher
{
    private readonly KafkaServerOptions _options;
    private readonly ConcurrentDictionary<KafkaConnection, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private Socket? _listener;
    private AcceptLoop? _accept;
    private CommitLog? _log;
    private GroupCoordinator? _coordinator;
    private int _stopped;

    /// <summary>Creates the server; nothing is opened until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Where to listen and where the data lives.</param>
    /// <param name="loggerFactory">Where the broker logs (accept errors, connections closed for bad input); nowhere when null.</param>
    public KafkaServer(KafkaServerOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultPartitions, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRequestBytes, 64, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxFetchBytes, 1, nameof(options));
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<KafkaServer>();
        Metrics = new KafkaMetrics(this);
    }

    /// <summary>The bound address (with the real port when <see cref="KafkaServerOptions.Listen"/> had port 0).</summary>
    public IPEndPoint EndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>The commit log served, once started.</summary>
    public CommitLog Log => _log ?? throw new InvalidOperationException("The server is not started.");

    internal GroupCoordinator Coordinator => _coordinator!;

    internal KafkaMetrics Metrics { get; }

    internal ILogger Logger => _logger;

    internal KafkaServerOptions Options => _options;

    internal AppendSignal Appends { get; } = new();

    internal ProducerSequences Sequences { get; private set; } = new(0);

    internal string AdvertisedHost => _options.Advertise?.Host ?? EndPoint.Address.ToString();

    internal int AdvertisedPort => _options.Advertise?.Port ?? EndPoint.Port;

    /// <summary>Opens the log and the coordinator, binds the listener and starts accepting connections.</summary>
    /// <param name="cancellationToken">Unused beyond an early cancel.</param>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _log = CommitLog.Open(_options.Log);
        _coordinator = GroupCoordinator.Open(_log, _options.Groups);
        // Producer ids start from the clock in milliseconds, so ids handed out before a restart are not reused.
        Sequences = new ProducerSequences((_options.Groups?.TimeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds() << 10);
        _listener = ListenSocket.Bind(_options.Listen);
        _accept = new AcceptLoop(_listener, this);
        _accept.Start();
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, closes every connection, then the coordinator and the log (leaving the clean-shutdown marker).</summary>
    /// <param name="cancellationToken">Unused: stopping always completes.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_accept is not null)
        {
            await _accept.StopAsync().ConfigureAwait(false);
            _accept.Dispose();
        }

        _listener?.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        Metrics.Dispose();
        if (_coordinator is not null)
        {
            await _coordinator.DisposeAsync().ConfigureAwait(false);
        }

        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        Appends.Signal();
        _stopping.Dispose();
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    internal CommitLog? TryGetLog() => Volatile.Read(ref _log);

    internal GroupCoordinator? TryGetCoordinator() => Volatile.Read(ref _coordinator);

    void IConnectionDispatcher.OnAccepted(Socket socket)
    {
        socket.NoDelay = true;
        Metrics.Opened();
        var connection = new KafkaConnection(this, socket);
        _connections[connection] = Serve(connection);
    }

    // The loop keeps accepting after a transient error (a peer gone between SYN and accept) and ends on any other.
    void IConnectionDispatcher.OnAcceptError(Exception error)
    {
        Metrics.AcceptError();
        LogAcceptError(_logger, error);
    }

    private async Task Serve(KafkaConnection connection)
    {
        await Task.Yield();
        try
        {
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            Metrics.Closed();
        }
    }
}
