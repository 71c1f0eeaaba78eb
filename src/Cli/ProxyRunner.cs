using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;
using DataPlane.Proxy;
using DataPlane.Proxy.Config;
using DataPlane.Proxy.Handoff;
using DataPlane.Proxy.Hosting;
using Microsoft.Extensions.Logging;

namespace DataPlane.Cli;

/// <summary>
/// Runs `dataplane proxy` until SIGTERM/SIGINT: starts the listeners and the admin endpoint, reloads
/// the config file when it changes or on SIGHUP, and drains on the way out.
/// </summary>
internal static class ProxyRunner
{
    // Editors save in several steps (truncate, write, rename): wait for the burst to settle.
    private static readonly TimeSpan ReloadSettle = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(ProxyOptions defaults, IPEndPoint? admin, string? configPath, HandoffSettings handoffSettings, CancellationToken invocation)
    {
        ProxyConfig config;
        try
        {
            if (configPath is not null)
            {
                configPath = Path.GetFullPath(configPath);
                config = ProxyConfigFile.Load(configPath, defaults, admin);
            }
            else
            {
                defaults.Validate();
                config = new ProxyConfig(admin, [defaults]);
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"dataplane proxy: {e.Message}");
            return 2;
        }

        using var loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            }));
        // A process already serving the handoff socket hands its listeners over to this one.
        HandoffClient? handoff = null;
        List<HandoffListener>? inherited = null;
        if (handoffSettings.Path is { } handoffPath)
        {
            try
            {
                handoff = HandoffClient.TryConnect(handoffPath, handoffSettings.Timeout);
                inherited = handoff?.ReceiveListeners();
            }
            catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException or SocketException or FormatException)
            {
                handoff?.Dispose();
                await Console.Error.WriteLineAsync($"dataplane proxy: handoff from {handoffPath} failed, the running process keeps serving: {e.Message}");
                return 1;
            }
        }

        var host = new ProxyHost(loggerFactory);
        List<MigratedPair>? migrated = null;
        try
        {
            await host.StartAsync(config, inherited);
            if (handoff is not null)
            {
                if (handoffSettings.Connections)
                {
                    var listens = host.Listeners.Select(l => l.Options.Listen).ToList();
                    migrated = await Task.Run(() => handoff.ReceiveConnections(listens), CancellationToken.None);
                }

                var counters = await Task.Run(handoff.ReadyAndWaitForCommit, CancellationToken.None);
                host.AddCarriedCounters(counters);
                var adopted = host.AdoptConnections(migrated ?? []);
                migrated = null;
                host.ResumeAccepting();
                Console.WriteLine($"took over the listeners of process {handoff.PeerPid}{(handoffSettings.Connections ? $" and {adopted} connections" : string.Empty)}");
                await Task.Run(handoff.Started, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"dataplane proxy: cannot start: {e.Message}");
            handoff?.Dispose();
            await host.DisposeAsync();
            return 1;
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException)
        {
            // Before COMMIT the old process rolls back and keeps serving; after it, this one accepts already.
            if (!host.Listeners.Any(l => l.IsAccepting))
            {
                await Console.Error.WriteLineAsync($"dataplane proxy: handoff failed, the running process keeps serving: {e.Message}");
                handoff?.Dispose();
                await host.DisposeAsync();
                return 1;
            }
        }
        finally
        {
            // Received but not adopted (the handoff failed before COMMIT): the old process resumes them.
            migrated?.ForEach(p => p.Close());
            handoff?.Dispose();
        }

        // Serving the handoff socket before reporting "listening": whoever sees that line may start the next process.
        var handoffServer = handoffSettings.Path is null
            ? null
            : new HandoffServer(handoffSettings.Path, host, handoffSettings.Timeout, loggerFactory.CreateLogger<HandoffServer>());
        try
        {
            handoffServer?.Start();
        }
        catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"dataplane proxy: cannot serve the handoff socket {handoffSettings.Path}: {e.Message}");
            await host.DisposeAsync();
            return 1;
        }

        foreach (var listener in host.Listeners)
        {
            Console.WriteLine($"listening {listener.LocalEndPoint} -> {string.Join(", ", listener.Options.Upstreams.Select(u => u.Address))} ({listener.Options.Policy})");
        }

        if (host.AdminEndPoint is { } adminEndPoint)
        {
            Console.WriteLine($"admin http://{adminEndPoint}/");
        }

        var inline = Environment.GetEnvironmentVariable(ProxyCommand.InlineCompletions);
        Console.WriteLine($"inline socket completions: {(inline == "1" ? "on" : "off")}");
        if (config.Listeners.Any(l => l.Transport == ProxyTransport.Epoll))
        {
            Console.WriteLine($"epoll loops: {EpollTransport.Shared.LoopCount}, {(EpollTransport.PinLoops ? "each bound to one CPU (--pin-loops)" : "not bound (--pin-loops binds them)")}");
        }

        // System.CommandLine ends the invocation 2 s after SIGTERM; the process then waits here until the drain is done.
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drainLimit = config.Listeners.Max(l => l.DrainTimeout) + TimeSpan.FromSeconds(10);
        EventHandler waitForDrain = (_, _) => drained.Task.Wait(drainLimit);
        AppDomain.CurrentDomain.ProcessExit += waitForDrain;

        // SIGTERM and SIGINT drain and exit (handled here, so the runtime does not kill the process at once).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(invocation);
        var stop = stopping.Token;
        Action<PosixSignalContext> onStop = context =>
        {
            context.Cancel = true;
            stopping.Cancel();
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onStop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, onStop);
        using var reload = new SemaphoreSlim(0);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reload.Release();
        });
        using var watcher = configPath is null ? null : Watch(configPath, reload);
        _ = handoffServer?.HandedOver.ContinueWith(
            handedOver =>
            {
                Console.WriteLine($"handed over to process {handedOver.Result}: draining connections");
                stopping.Cancel();
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
        try
        {
            while (true)
            {
                await reload.WaitAsync(stop);
                await Task.Delay(ReloadSettle, stop);
                while (reload.CurrentCount > 0)
                {
                    await reload.WaitAsync(stop);
                }

                if (configPath is not null)
                {
                    await host.ReloadAsync(configPath, defaults, admin);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.WriteLine("stopping: draining connections");
        }
        finally
        {
            if (handoffServer is not null)
            {
                await handoffServer.DisposeAsync();
            }

            await host.DisposeAsync();
            drained.TrySetResult();
        }

        AppDomain.CurrentDomain.ProcessExit -= waitForDrain;
        return 0;
    }

    /// <summary>
    /// Watches the file's directory: the file itself (written in place, or renamed over), and Kubernetes'
    /// <c>..data</c> link, which a ConfigMap update swaps while the file, a link through it, never changes.
    /// </summary>
    private static FileSystemWatcher Watch(string path, SemaphoreSlim reload)
    {
        var name = Path.GetFileName(path);
        var watcher = new FileSystemWatcher(Path.GetDirectoryName(Path.GetFullPath(path))!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, e) =>
        {
            if (e.Name == name || e.Name == "..data")
            {
                reload.Release();
            }
        };
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Renamed += (_, e) => changed(watcher, e);
        watcher.EnableRaisingEvents = true;
        return watcher;
    }
}
