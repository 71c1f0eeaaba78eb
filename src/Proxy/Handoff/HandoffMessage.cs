namespace DataPlane.Proxy.Handoff;

/// <summary>One message of the handoff protocol: a text payload and the descriptors that came with it.</summary>
internal readonly record struct HandoffMessage(string Text, int[] Descriptors);
