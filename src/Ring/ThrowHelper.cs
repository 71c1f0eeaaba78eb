using System.Diagnostics.CodeAnalysis;

namespace DataPlane.Ring;

internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void EmptyRing() =>
        throw new InvalidOperationException("The ring has no nodes: add a node before looking up a key, or use the Try form.");

    [DoesNotReturn]
    public static void ReplicaCount(int n) =>
        throw new ArgumentOutOfRangeException(nameof(n), n, "The replica count must be at least 1.");

    [DoesNotReturn]
    public static void DestinationTooShort(int needed, int length) =>
        throw new ArgumentException($"The destination holds {length} nodes but {needed} replicas were asked for.");
}
