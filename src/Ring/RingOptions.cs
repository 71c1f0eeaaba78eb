namespace DataPlane.Ring;

/// <summary>Settings of a <see cref="HashRing{TNode}"/>.</summary>
public sealed class RingOptions
{
    /// <summary>
    /// Virtual nodes (tokens) for a node of weight 1. The load's standard deviation across nodes is
    /// about 1/sqrt(V) of the mean: 150 gives about 8%, 1000 about 3%.
    /// </summary>
    public int VirtualNodes { get; init; } = 150;
}
