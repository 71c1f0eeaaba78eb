namespace DataPlane.Log.Protocol.Kafka;

/// <summary>A request header: v1, or v2 for ApiVersions v3 (a higher ApiVersions version is answered from the header alone).</summary>
/// <param name="ApiKey">The API.</param>
/// <param name="ApiVersion">Its version.</param>
/// <param name="CorrelationId">Echoed in the response.</param>
/// <param name="ClientId">The client's id, or null.</param>
internal readonly record struct RequestHeader(short ApiKey, short ApiVersion, int CorrelationId, string? ClientId)
{
    public static RequestHeader Read(ref KafkaReader reader)
    {
        var key = reader.Int16();
        var version = reader.Int16();
        var correlation = reader.Int32();
        var client = reader.NullableString();
        if (key == (short)Kafka.ApiKey.ApiVersions && version == 3)
        {
            reader.SkipTaggedFields();
        }

        return new RequestHeader(key, version, correlation, client);
    }
}
