using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using DataPlane.Log;
using DataPlane.Log.Server;
using Microsoft.Extensions.Logging;

namespace DataPlane.Cli;

/// <summary>`dataplane log`: the Kafka-protocol commit log.</summary>
internal static class LogCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Address to serve the Kafka protocol on.", DefaultValueFactory = _ => "127.0.0.1:9092" };
        var data = new Option<string>("--data") { Description = "Data directory (topics' partition folders, group offsets).", Required = true };
        var advertise = new Option<string?>("--advertise") { Description = "HOST:PORT clients are told to connect to (default: the bound address)." };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of an auto-created topic (num.partitions).", DefaultValueFactory = _ => 1 };
        var autoCreate = new Option<bool>("--auto-create-topics") { Description = "Create a topic Metadata asks for (auto.create.topics.enable).", DefaultValueFactory = _ => true };
        var retentionMs = new Option<long?>("--retention-ms") { Description = "retention.ms of topics (-1: keep forever; default 7 days)." };
        var retentionBytes = new Option<long?>("--retention-bytes") { Description = "retention.bytes per partition (default: no limit)." };
        var segmentBytes = new Option<long?>("--segment-bytes") { Description = "segment.bytes (default 1 GiB)." };
        var flushMs = new Option<long?>("--flush-ms") { Description = "flush.ms: fsync at most this often (default: every append is durable before it is acknowledged)." };
        var metrics = new Option<string?>("--metrics") { Description = "Serve Prometheus metrics (the DataPlane.Log meter) at http://ADDRESS:PORT/metrics." };

        var command = new Command("log", "Runs a single-node Kafka-protocol commit log (Kafka clients, kcat and consumer groups work against it).");
        foreach (var option in new Option[] { listen, data, advertise, partitions, autoCreate, retentionMs, retentionBytes, segmentBytes, flushMs, metrics })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") is null)
            {
                // Idle thread-pool workers spin (sched_yield) before they sleep: under the kafka benchmark, on two cores
                // shared with the client, that was over half of the broker's CPU samples (perf). Requests hop onto the
                // pool once per read and once per append completion, too seldom for spinning to pay. Read when the
                // first worker thread starts, which is after this line.
                AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", "0");
            }

            if (!IPEndPoint.TryParse(parseResult.GetValue(listen)!, out var endPoint))
            {
                Console.Error.WriteLine($"dataplane log: --listen must be ADDRESS:PORT, got '{parseResult.GetValue(listen)}'.");
                return 2;
            }

            DnsEndPoint? advertised = null;
            if (parseResult.GetValue(advertise) is { } advertiseText)
            {
                var colon = advertiseText.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(advertiseText.AsSpan(colon + 1), out var advertisedPort) || advertisedPort is < 1 or > 65535)
                {
                    Console.Error.WriteLine($"dataplane log: --advertise must be HOST:PORT, got '{advertiseText}'.");
                    return 2;
                }

                advertised = new DnsEndPoint(advertiseText[..colon], advertisedPort);
            }

            if (!MetricsEndpoint.TryParse(parseResult.GetValue(metrics), "log", out var metricsEndPoint))
            {
                return 2;
            }

            if (parseResult.GetValue(partitions) < 1)
            {
                Console.Error.WriteLine("dataplane log: --partitions must be at least 1.");
                return 2;
            }

            var defaults = new TopicConfig();
            var topicConfig = defaults with
            {
                RetentionTime = parseResult.GetValue(retentionMs) is { } ms ? (ms < 0 ? null : TimeSpan.FromMilliseconds(ms)) : defaults.RetentionTime,
                RetentionBytes = parseResult.GetValue(retentionBytes) is { } bytes && bytes >= 0 ? bytes : defaults.RetentionBytes,
                SegmentBytes = parseResult.GetValue(segmentBytes) ?? defaults.SegmentBytes,
                FlushPolicy = parseResult.GetValue(flushMs) is { } flush and > 0 ? new FlushPolicy(long.MaxValue, TimeSpan.FromMilliseconds(flush)) : FlushPolicy.Durable,
            };
            if (topicConfig.SegmentBytes < 1024)
            {
                Console.Error.WriteLine("dataplane log: --segment-bytes must be at least 1024.");
                return 2;
            }

            var options = new KafkaServerOptions
            {
                Listen = endPoint,
                Advertise = advertised,
                Log = new CommitLogOptions { DataDirectory = parseResult.GetValue(data)!, DefaultTopicConfig = topicConfig },
                DefaultPartitions = parseResult.GetValue(partitions),
                AutoCreateTopics = parseResult.GetValue(autoCreate),
            };

            // SIGTERM and SIGINT stop the broker cleanly (the clean-shutdown marker); a second signal ends it at once.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var signals = 0;
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            void Stop(PosixSignalContext context)
            {
                context.Cancel = Interlocked.Increment(ref signals) == 1;
                stop.Cancel();
            }

            using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            using var metricServer = await MetricsEndpoint.StartAsync(metricsEndPoint);
            await using var server = new KafkaServer(options, logging);
            await server.StartAsync(stop.Token);
            Console.WriteLine($"dataplane log listening on {server.EndPoint}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM or SIGINT: stop cleanly.
            }

            await server.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
