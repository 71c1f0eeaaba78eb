using System.Net;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Server;

/// <summary>How a <see cref="KafkaServer"/> listens and where its data lives.</summary>
public sealed class KafkaServerOptions
{
    /// <summary>The address to listen on (port 0 picks a free one; read <see cref="KafkaServer.EndPoint"/>).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 9092);

    /// <summary>The host and port Metadata and FindCoordinator name for this broker; the bound address when null.</summary>
    public DnsEndPoint? Advertise { get; init; }

    /// <summary>The commit log the broker serves (data directory, default topic config, flush policy).</summary>
    public required CommitLogOptions Log { get; init; }

    /// <summary>The group coordinator's settings; defaults when null.</summary>
    public GroupCoordinatorOptions? Groups { get; init; }

    /// <summary>Partitions of a topic created by Metadata or by CreateTopics with -1 (Kafka's <c>num.partitions</c>, default 1).</summary>
    public int DefaultPartitions { get; init; } = 1;

    /// <summary>Whether Metadata creates a topic it is asked for and does not have (Kafka's <c>auto.create.topics.enable</c>, default true).</summary>
    public bool AutoCreateTopics { get; init; } = true;

    /// <summary>The largest request accepted (Kafka's <c>socket.request.max.bytes</c>, default 100 MiB); a larger size prefix closes the connection.</summary>
    public int MaxRequestBytes { get; init; } = 100 << 20;

    /// <summary>
    /// The most record bytes one fetch response carries, whatever the request asks (Kafka's broker <c>fetch.max.bytes</c>,
    /// default 55 MiB): what a fetch reads into memory is bounded by the broker, not the client. As in Kafka, the first
    /// batch is sent whole even if it is larger, so a consumer always makes progress.
    /// </summary>
    public int MaxFetchBytes { get; init; } = 55 << 20;
}
