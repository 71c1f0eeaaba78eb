using System.Net;
using DataPlane.Proxy.Admin;
using DataPlane.Proxy.Config;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Handoff;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Proxy.Hosting;

/// <summary>
/// Runs a whole configuration: one <see cref="ProxyServer"/> per listener, and the admin endpoint.
/// Applying a new configuration reconfigures listeners that stay (no connection dropped), starts new
/// ones and drains removed ones; an invalid configuration is refused whole and the old one stays.
/// </summary>
internal sealed partial class ProxyHost : IAsyncDisposable, IHandoffSource
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _applying = new(1, 1);
    private readonly List<Task> _draining = [];
    private volatile ProxyServer[] _listeners = [];
    private AdminServer? _admin;
    private IPEndPoint? _adminConfigured;
    private long _reloads;
    private long _reloadFailures;
    private List<HandoffListener>? _inherited;

    public ProxyHost(ILoggerFactory? loggerFactory = null)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ProxyHost>();
    }

    public IReadOnlyList<ProxyServer> Listeners => _listeners;

    public IPEndPoint? AdminEndPoint => _admin?.LocalEndPoint;

    public long Reloads => Interlocked.Read(ref _reloads);

    public long ReloadFailures => Interlocked.Read(ref _reloadFailures);

    /// <summary>
    /// Starts the first configuration (the admin endpoint included). Listeners whose configured address
    /// matches one in <paramref name="inherited"/> adopt that socket instead of binding; with
    /// inherited sockets nothing accepts before <see cref="ResumeAccepting"/>. Unused inherited sockets
    /// are closed.
    /// </summary>
    public async Task StartAsync(ProxyConfig config, IReadOnlyList<HandoffListener>? inherited = null)
    {
        _inherited = inherited is null ? null : [.. inherited];
        try
        {
            await ApplyAsync(config);
        }
        finally
        {
            // No accept was ever pending on them: a plain close.
            _inherited?.ForEach(l => l.Socket.Dispose());
            _inherited = null;
        }

        _adminConfigured = config.Admin;
        if (config.Admin is { } admin)
        {
            _admin = new AdminServer(admin, () => _listeners, HostCounters);
            LogAdmin(_admin.LocalEndPoint);
        }
    }

    /// <summary>
    /// Applies a configuration, whole or not at all: every listener is checked, and every new one is
    /// created and bound, before a running listener changes; any failure on the way closes what was
    /// bound and leaves the configuration in force as it was.
    /// </summary>
    /// <exception cref="ArgumentException">A listener's settings are invalid (nothing was changed).</exception>
    /// <exception cref="System.Net.Sockets.SocketException">A new listener's address cannot be bound (nothing was changed).</exception>
    public async Task ApplyAsync(ProxyConfig config)
    {
        await _applying.WaitAsync();
        try
        {
            foreach (var options in config.Listeners)
            {
                options.Validate();
                foreach (var u in options.Upstreams)
                {
                    Upstreams.UpstreamCluster.Resolve(u.Address);
                }
            }

            var current = _listeners;
            var added = await PrepareAsync(config.Listeners.Where(o => !Array.Exists(current, l => l.Options.Listen.Equals(o.Listen))));
            var next = new List<ProxyServer>();
            foreach (var options in config.Listeners)
            {
                if (Array.Find(current, l => l.Options.Listen.Equals(options.Listen)) is { } existing)
                {
                    existing.Reconfigure(options);
                    next.Add(existing);
                }
                else
                {
                    var (server, socket) = added.Find(a => a.Server.Options.Listen.Equals(options.Listen));
                    server.Start(socket, accepting: _inherited is null);
                    next.Add(server);
                }
            }

            foreach (var removed in current.Where(l => !next.Contains(l)))
            {
                lock (_draining)
                {
                    _draining.Add(removed.DisposeAsync().AsTask());
                }
            }

            _listeners = [.. next];
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>
    /// Creates the new listeners and binds their sockets (or takes the inherited ones), nothing started:
    /// should one fail, those made so far are closed and the failure goes to the caller.
    /// </summary>
    private async Task<List<(ProxyServer Server, System.Net.Sockets.Socket Socket)>> PrepareAsync(IEnumerable<ProxyOptions> listeners)
    {
        var sockets = new List<System.Net.Sockets.Socket>();
        var servers = new List<ProxyServer>();
        try
        {
            foreach (var options in listeners)
            {
                var adopted = _inherited?.Find(l => l.Listen.Equals(options.Listen));
                if (adopted is not null)
                {
                    _inherited!.Remove(adopted);
                }

                sockets.Add(adopted?.Socket ?? Net.ListenSocket.Bind(options.Listen));
                servers.Add(new ProxyServer(options, _loggerFactory));
            }

            return [.. servers.Zip(sockets)];
        }
        catch
        {
            sockets.ForEach(s => s.Dispose());
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Reloads the config file; on any error the old configuration stays in force, and the error is logged and counted.</summary>
    public async Task<bool> ReloadAsync(string path, ProxyOptions defaults, IPEndPoint? defaultAdmin)
    {
        try
        {
            var config = ProxyConfigFile.Load(path, defaults, defaultAdmin);
            await ApplyAsync(config);
            Interlocked.Increment(ref _reloads);
            LogReloaded(path, config.Listeners.Count);
            if (!Equals(config.Admin, _adminConfigured))
            {
                LogAdminNotMoved(path, _adminConfigured?.ToString() ?? "none");
            }

            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever the file holds, the proxy goes on serving with what it has (an unexpected exception
            // type included: a reload must not take the listeners down with it).
            Interlocked.Increment(ref _reloadFailures);
            LogReloadFailed(path, e is FormatException or ArgumentException or System.Net.Sockets.SocketException ? e.Message : e.ToString());
            return false;
        }
    }

    /// <summary>Stops accepting everywhere and drains every listener.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(_listeners.Select(l => l.StopAsync(cancellationToken)));
        Task[] draining;
        lock (_draining)
        {
            draining = [.. _draining];
        }

        await Task.WhenAll(draining);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        _applying.Dispose();
    }

    /// <summary>Every listener's socket with its configured address (what a handoff sends).</summary>
    public IReadOnlyList<HandoffListener> HandoffListeners() =>
        [.. _listeners.Where(l => l.Listener is not null).Select(l => new HandoffListener(l.Options.Listen, l.Listener!))];

    /// <summary>Stops accepting on every listener, leaving the sockets open and listening.</summary>
    public Task PauseAcceptingAsync() => Task.WhenAll(_listeners.Select(l => l.PauseAcceptingAsync()));

    /// <summary>Accepts on every listener: after a deferred start, or when a handoff rolls back.</summary>
    public void ResumeAccepting()
    {
        foreach (var listener in _listeners)
        {
            listener.ResumeAccepting();
        }
    }

    /// <summary>Every upstream's cumulative counters, one line each: listen address, upstream address, counters.</summary>
    public string CarriedCounters() => string.Join('\n', _listeners.SelectMany(l => l.Cluster.Set.Items.Select(u =>
        string.Join(' ', [l.Options.Listen.ToString(), u.Address, .. u.Counters().Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))]))));

    /// <summary>Adds counters from <see cref="CarriedCounters"/> of the previous process to the same listener's same upstream.</summary>
    public void AddCarriedCounters(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length < 5)
            {
                continue;
            }

            var listener = Array.Find(_listeners, l => l.Options.Listen.ToString() == parts[0]);
            var upstream = listener is null ? null : Array.Find(listener.Cluster.Set.Items, u => u.Address == parts[1]);
            var counters = parts[2..].Select(p => long.TryParse(p, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray();
            upstream?.AddCarried(counters);
        }
    }

    /// <summary>Asks the copying connections of the listeners configured at these addresses to stop at their quiet points.</summary>
    public IReadOnlyList<(IPEndPoint Listen, PairMigration Pair)> QuiesceConnections(IReadOnlyCollection<IPEndPoint> listens) =>
        [.. _listeners.Where(l => listens.Contains(l.Options.Listen)).SelectMany(l => l.QuiesceConnections().Select(p => (l.Options.Listen, p)))];

    /// <summary>
    /// Starts copying the pairs the previous process stopped, each on the listener configured at its
    /// address; returns how many. (The new process asked only for its own listeners' pairs; one that
    /// matches none anyway is closed: a plain close, as nothing is pending on it.)
    /// </summary>
    public int AdoptConnections(IEnumerable<MigratedPair> pairs)
    {
        var adopted = 0;
        foreach (var pair in pairs)
        {
            var listener = Array.Find(_listeners, l => l.Options.Listen.Equals(pair.Listen));
            if (listener is null)
            {
                pair.Close();
                continue;
            }

            listener.Adopt(pair.Client, pair.UpstreamSocket, pair.Upstream, pair.ClientEnded, pair.UpstreamEnded, pair.Age);
            adopted++;
        }

        return adopted;
    }

    private IEnumerable<KeyValuePair<string, long>> HostCounters()
    {
        yield return new("dataplane_proxy_config_reloads_total", Reloads);
        yield return new("dataplane_proxy_config_reload_failures_total", ReloadFailures);
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "Admin endpoint on http://{EndPoint}/ (metrics, healthz, ready, upstreams)")]
    private partial void LogAdmin(IPEndPoint endPoint);

    [LoggerMessage(EventId = 141, Level = LogLevel.Information, Message = "Reloaded {Path}: {Count} listeners")]
    private partial void LogReloaded(string path, int count);

    [LoggerMessage(EventId = 142, Level = LogLevel.Error, Message = "Reload of {Path} failed, the previous configuration stays in force: {Error}")]
    private partial void LogReloadFailed(string path, string error);

    [LoggerMessage(EventId = 143, Level = LogLevel.Warning, Message = "Reload of {Path}: the admin endpoint moves only at a restart; it stays on {Admin}")]
    private partial void LogAdminNotMoved(string path, string admin);
}
