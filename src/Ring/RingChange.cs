namespace DataPlane.Ring;

/// <summary>
/// An arc whose owners differ between two snapshots: what a rebalance must move from
/// <see cref="Before"/> to <see cref="After"/>.
/// </summary>
/// <typeparam name="TNode">The node type of the ring.</typeparam>
/// <param name="Range">The arc.</param>
/// <param name="Before">Its owners (the preference list) before the change; empty on an empty ring.</param>
/// <param name="After">Its owners after the change.</param>
public sealed record RingChange<TNode>(RingRange Range, TNode[] Before, TNode[] After);
