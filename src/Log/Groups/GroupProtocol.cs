namespace DataPlane.Log.Groups;

/// <summary>One protocol a member supports (for consumers: an assignor name and its subscription bytes).</summary>
/// <param name="Name">The protocol's name, such as <c>range</c> or <c>cooperative-sticky</c>.</param>
/// <param name="Metadata">Opaque bytes relayed to the leader (a Kafka ConsumerProtocolSubscription for consumers).</param>
public sealed record GroupProtocol(string Name, ReadOnlyMemory<byte> Metadata);
