using System.Text.Json;
using DataPlane.Net.IO;

namespace DataPlane.Log;

/// <summary>
/// The topics and their configs, kept in <c>&lt;data&gt;/topics.json</c> and replaced atomically (write a temporary
/// file, fsync, rename) so a crash leaves the old or the new catalog, never half of one.
/// </summary>
internal sealed class TopicCatalog
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly string _path;

    public TopicCatalog(string dataDirectory) => _path = Path.Combine(dataDirectory, "topics.json");

    public Dictionary<string, TopicEntry> Load() =>
        File.Exists(_path)
            ? JsonSerializer.Deserialize<Dictionary<string, TopicEntry>>(File.ReadAllBytes(_path), Json) ?? []
            : [];

    public void Save(IReadOnlyDictionary<string, TopicEntry> topics)
    {
        DurableFile.Replace(_path, JsonSerializer.SerializeToUtf8Bytes(topics, Json));
    }
}
