namespace DataPlane.Log.Protocol.Kafka;

/// <summary>A request that does not parse: the broker closes that connection and nothing else.</summary>
internal sealed class KafkaProtocolException(string message) : Exception(message);
