using System.Net;
using DataPlane.Store.Replica;
using DataPlane.Store.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Store;

/// <summary>
/// A Redis-compatible (RESP2) key-value server on one durable replica: FASTER KV with versioned
/// values, a write-ahead log and periodic checkpoints. Start it, point redis-cli or any Redis client
/// at <see cref="EndPoint"/>, and stop it to take a final checkpoint. Its metrics are on the
/// <c>DataPlane.Store</c> meter (System.Diagnostics.Metrics).
/// </summary>
public sealed partial class StoreServer : IAsyncDisposable
{
    private readonly StoreOptions _options;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly CancellationTokenSource _stopping = new();
    private Replica.Replica? _replica;
    private Durability.DataDirectoryLock? _directoryLock;
    private StoreListener? _listener;
    private StoreContext? _context;
    private StoreMetrics? _metrics;
    private Task _maintenance = Task.CompletedTask;
    private bool _stopped;

    /// <summary>Creates a server; nothing is opened until <see cref="StartAsync"/>.</summary>
    public StoreServer(StoreOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<StoreServer>();
    }

    /// <summary>The address the server listens on (with the real port when <see cref="StoreOptions.Listen"/> asked for port 0).</summary>
    public IPEndPoint EndPoint => _listener?.EndPoint ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Keys that hold a value, as DBSIZE reports them.</summary>
    public long KeyCount => _replica?.KeyCount ?? 0;

    internal Replica.Replica Replica => _replica ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Recovers the data (the newest checkpoint plus the write-ahead log after it), then starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _directoryLock = Durability.DataDirectoryLock.Acquire(_options.DataDirectory);
        StartCluster(validateOnly: true);
        var replica = new Replica.Replica(new ReplicaSettings(
            _options.DataDirectory, _options.Cluster?.VersionId ?? _options.NodeId, _options.Fsync, _options.MaxMemory, _options.TombstoneGrace, _options.TimeProvider,
            BuryExpired: _options.Cluster is not null));
        _replica = replica;
        LogRecovered(_logger, replica.KeyCount, _options.DataDirectory);
        _context = new StoreContext(_options, replica, new ServerStats(_options.TimeProvider));
        _metrics = new StoreMetrics(_context);
        _listener = new StoreListener(_options.Listen, _context, _logger);
        _context.Port = _listener.EndPoint.Port;
        StartCluster(validateOnly: false);
        if (_cluster is not null)
        {
            await _cluster.JoinAsync(cancellationToken).ConfigureAwait(false);
        }

        _listener.Start();
        _maintenance = MaintainAsync(_stopping.Token);
        LogListening(_logger, _listener.EndPoint, _options.Fsync);
    }

    /// <summary>Takes a checkpoint now and deletes the write-ahead log it covers.</summary>
    public Task CheckpointAsync(CancellationToken cancellationToken = default) => Replica.CheckpointAsync(cancellationToken);

    /// <summary>Stops accepting, closes every connection, takes a final checkpoint and closes the data files.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped || _replica is null)
        {
            return;
        }

        _stopped = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await _maintenance.ConfigureAwait(false);
        try
        {
            await StopClusterAsync().ConfigureAwait(false);
            await _replica.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            LogStopped(_logger);
        }
        catch (IOException e)
        {
            // The last checkpoint and the log up to the failure are still whole: recovery uses them.
            LogMaintenanceFailed(_logger, e);
        }
        finally
        {
            _metrics?.Dispose();
            _replica.Dispose();
            _directoryLock?.Dispose();
        }
    }

    /// <summary>Stops the server if it is running.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);

        // A start that failed (another node's directory, a log that cannot be read) never ran StopAsync's release.
        _directoryLock?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Reclaims expired keys and old tombstones every sweep interval and checkpoints every checkpoint interval.</summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        using var timer = new PeriodicTimer(_options.SweepInterval, time);
        using var session = Replica.NewSession();
        var lastCheckpoint = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    _context!.Stats.Expired(Replica.Sweep(session));
                    if (time.GetElapsedTime(lastCheckpoint) >= _options.CheckpointInterval)
                    {
                        lastCheckpoint = time.GetTimestamp();
                        await Replica.CheckpointAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (IOException e)
                {
                    LogMaintenanceFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Recovered {Keys} keys from {Directory}")]
    private static partial void LogRecovered(ILogger logger, long keys, string directory);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Listening on {EndPoint} (fsync {Fsync})")]
    private static partial void LogListening(ILogger logger, IPEndPoint endPoint, FsyncMode fsync);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Stopped after a final checkpoint")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Checkpoint or sweep failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);
}
