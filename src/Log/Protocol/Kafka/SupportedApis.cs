namespace DataPlane.Log.Protocol.Kafka;

/// <summary>The versions the broker advertises: non-flexible ones only, except ApiVersions (issue #5's table).</summary>
internal static class SupportedApis
{
    /// <summary>(key, min, max) in ApiVersions order.</summary>
    public static readonly (ApiKey Key, short Min, short Max)[] Ranges =
    [
        (ApiKey.Produce, 0, 8),
        (ApiKey.Fetch, 4, 11),
        (ApiKey.ListOffsets, 1, 5),
        (ApiKey.Metadata, 0, 8),
        (ApiKey.OffsetCommit, 0, 7),
        (ApiKey.OffsetFetch, 0, 5),
        (ApiKey.FindCoordinator, 0, 2),
        (ApiKey.JoinGroup, 0, 5),
        (ApiKey.Heartbeat, 0, 3),
        (ApiKey.LeaveGroup, 0, 3),
        (ApiKey.SyncGroup, 0, 3),
        (ApiKey.ApiVersions, 0, 3),
        (ApiKey.CreateTopics, 0, 4),
        (ApiKey.InitProducerId, 0, 1),
        (ApiKey.DescribeConfigs, 0, 3),
    ];

    public static bool IsSupported(short key, short version)
    {
        foreach (var (k, min, max) in Ranges)
        {
            if ((short)k == key)
            {
                return version >= min && version <= max;
            }
        }

        return false;
    }
}
