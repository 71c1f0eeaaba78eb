namespace DataPlane.Log;

/// <summary>A topic as stored in the catalog (<c>topics.json</c>).</summary>
/// <param name="Partitions">The partition count.</param>
/// <param name="Config">The topic's settings.</param>
internal sealed record TopicEntry(int Partitions, TopicConfig Config);
