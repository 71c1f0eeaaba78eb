using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DataPlane.Store.Server;

/// <summary>INFO's text: the sections and fields Redis clients and tools read.</summary>
internal static class InfoReport
{
    private static readonly string[] DefaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cluster", "keyspace"];

    public static string Build(StoreContext context, List<string> requested)
    {
        var all = requested.Count == 0 || requested.Contains("all") || requested.Contains("everything") || requested.Contains("default");
        var text = new StringBuilder();
        foreach (var section in DefaultSections)
        {
            if (!all && !requested.Contains(section))
            {
                continue;
            }

            if (text.Length > 0)
            {
                text.Append("\r\n");
            }

            text.Append("# ").Append(char.ToUpperInvariant(section[0])).Append(section.AsSpan(1)).Append("\r\n");
            Section(context, section, text);
        }

        return text.ToString();
    }

    private static void Section(StoreContext context, string section, StringBuilder text)
    {
        var stats = context.Stats;
        var now = context.Options.TimeProvider.GetUtcNow();
        var replica = context.Replica;
        void Line(string name, object value) => text.Append(CultureInfo.InvariantCulture, $"{name}:{value}\r\n");
        switch (section)
        {
            case "server":
                Line("redis_version", RespConnection.RedisVersion);
                Line("redis_mode", "standalone");
                Line("dataplane_version", typeof(InfoReport).Assembly.GetName().Version?.ToString() ?? "0");
                Line("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
                Line("arch_bits", IntPtr.Size * 8);
                Line("process_id", Environment.ProcessId);
                Line("tcp_port", context.Port);
                Line("uptime_in_seconds", (long)(now - stats.StartedAt).TotalSeconds);
                break;
            case "clients":
                Line("connected_clients", stats.Connected);
                break;
            case "memory":
                Line("used_memory", GC.GetTotalMemory(false) + replica.Store.Log.MemorySizeBytes);
                Line("used_memory_rss", Process.GetCurrentProcess().WorkingSet64);
                Line("maxmemory", context.Options.MaxMemory);
                Line("maxmemory_policy", "noeviction");
                break;
            case "persistence":
                Line("loading", 0);
                Line("aof_enabled", 1);
                Line("appendfsync", context.Options.Fsync switch { FsyncMode.Always => "always", FsyncMode.EverySecond => "everysec", _ => "no" });
                Line("aof_last_write_status", replica.Wal.Fault is null ? "ok" : "err");
                Line("wal_segment", replica.Wal.Segment);
                Line("rdb_last_save_time", replica.LastCheckpointUnixSeconds);
                break;
            case "stats":
                Line("total_connections_received", stats.TotalConnections);
                Line("total_commands_processed", stats.TotalCommands);
                Line("expired_keys", stats.ExpiredKeys);
                Line("total_error_replies_protocol", stats.ProtocolErrors);
                break;
            case "replication":
                Line("role", "master");
                Line("connected_slaves", 0);
                ClusterInfo.Replication(context.Cluster, Line);
                break;
            case "cluster":
                ClusterInfo.Cluster(context.Cluster, Line);
                break;
            case "keyspace":
                if (replica.KeyCount > 0)
                {
                    Line("db0", $"keys={replica.KeyCount},expires={replica.ExpiringCount},avg_ttl=0");
                }

                break;
        }
    }
}
