using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using DataPlane.Store;
using Microsoft.Extensions.Logging;

namespace DataPlane.Cli;

/// <summary>`dataplane store`: one durable RESP key-value replica (FASTER, write-ahead log, checkpoints).</summary>
internal static class StoreCommand
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Address to serve RESP on.", DefaultValueFactory = _ => "127.0.0.1:6379" };
        var data = new Option<string>("--data") { Description = "Data directory (FASTER log, checkpoints, write-ahead log).", Required = true };
        var fsync = new Option<string>("--fsync") { Description = "When the write-ahead log is fsynced: always | everysec | no (as Redis's appendfsync).", DefaultValueFactory = _ => "everysec" };
        fsync.AcceptOnlyFromAmong("always", "everysec", "no");
        var checkpointInterval = new Option<string>("--checkpoint-interval") { Description = "Time between checkpoints: 500ms, 30s, 5m (plain numbers are seconds).", DefaultValueFactory = _ => "60s" };
        var maxMemory = new Option<string>("--max-memory") { Description = "Memory for the in-memory part of the store: 256mb, 1gb (rounded down to a power of two).", DefaultValueFactory = _ => "1gb" };
        var metrics = new Option<string?>("--metrics") { Description = "Serve Prometheus metrics at http://ADDRESS:PORT/metrics." };
        var transport = new Option<string>("--transport") { Description = "epoll (Linux, the default there: event loops of the store's own) | sockets (the runtime's sockets). Cluster nodes too.", DefaultValueFactory = _ => OperatingSystem.IsLinux() ? "epoll" : "sockets" };
        transport.AcceptOnlyFromAmong("epoll", "sockets");
        var inline = new Option<bool>("--inline-completions") { Description = $"Run socket completions inline ({InlineCompletions}=1) unless that variable is already set.", DefaultValueFactory = _ => true };

        var cluster = StoreClusterOptions.Create();
        var command = new Command("store", "Runs a durable Redis-compatible (RESP2) key-value replica on FASTER.");
        command.Options.Add(listen);
        command.Options.Add(data);
        command.Options.Add(fsync);
        command.Options.Add(checkpointInterval);
        command.Options.Add(maxMemory);
        command.Options.Add(metrics);
        command.Options.Add(transport);
        command.Options.Add(inline);
        cluster.AddTo(command);
        command.Subcommands.Add(StoreLeaveCommand.Create());
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!IPEndPoint.TryParse(parseResult.GetValue(listen)!, out var endPoint))
            {
                Console.Error.WriteLine($"dataplane store: --listen must be ADDRESS:PORT, got '{parseResult.GetValue(listen)}'.");
                return 2;
            }

            if (!TryParseDuration(parseResult.GetValue(checkpointInterval)!, out var interval) || !TryParseSize(parseResult.GetValue(maxMemory)!, out var memory))
            {
                Console.Error.WriteLine("dataplane store: --checkpoint-interval takes 500ms, 30s or 5m; --max-memory takes 256mb or 1gb.");
                return 2;
            }

            if (!MetricsEndpoint.TryParse(parseResult.GetValue(metrics), "store", out var metricsEndPoint))
            {
                return 2;
            }

            if (!cluster.TryBuild(parseResult, out var clusterOptions, out var clusterError))
            {
                Console.Error.WriteLine("dataplane store: " + clusterError);
                return 2;
            }

            if (parseResult.GetValue(inline) && Environment.GetEnvironmentVariable(InlineCompletions) is null)
            {
                // Read once, when the first socket is made: no socket exists yet in this process.
                Environment.SetEnvironmentVariable(InlineCompletions, "1");
            }

            var options = new StoreOptions
            {
                Listen = endPoint,
                DataDirectory = parseResult.GetValue(data)!,
                Fsync = parseResult.GetValue(fsync) switch { "always" => FsyncMode.Always, "no" => FsyncMode.No, _ => FsyncMode.EverySecond },
                CheckpointInterval = interval,
                MaxMemory = memory,
                Transport = parseResult.GetValue(transport) == "epoll" ? StoreTransport.Epoll : StoreTransport.Sockets,
                Cluster = clusterOptions,
            };
            // SIGTERM and SIGINT stop the server cleanly (final checkpoint) instead of ending the process.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }

            using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            using var metricServer = await MetricsEndpoint.StartAsync(metricsEndPoint);
            await using var server = new StoreServer(options, logging);
            try
            {
                await server.StartAsync(stop.Token);
            }
            catch (InvalidOperationException e)
            {
                // A data directory of another node, or cluster settings the flags could not check alone.
                Console.Error.WriteLine("dataplane store: " + e.Message);
                return 1;
            }

            Console.WriteLine($"dataplane store listening on {server.EndPoint}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM or SIGINT: stop cleanly with a final checkpoint.
            }

            await server.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }

    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : (text, 1000.0);
        var ok = double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0;
        duration = ok ? TimeSpan.FromMilliseconds(value * scale) : default;
        return ok;
    }

    internal static bool TryParseSize(string text, out long bytes)
    {
        var lower = text.ToLowerInvariant();
        var (number, scale) = lower.EndsWith("gb", StringComparison.Ordinal) ? (lower[..^2], 1L << 30)
            : lower.EndsWith("mb", StringComparison.Ordinal) ? (lower[..^2], 1L << 20)
            : lower.EndsWith("kb", StringComparison.Ordinal) ? (lower[..^2], 1L << 10)
            : (lower, 1L);
        var ok = long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0;
        bytes = ok ? value * scale : 0;
        return ok;
    }
}
