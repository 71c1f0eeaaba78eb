namespace DataPlane.Ring;

/// <summary>
/// An arc of the hash space, <c>(Start, End]</c> clockwise. When <see cref="Start"/> is not below
/// <see cref="End"/> the arc wraps past <see cref="ulong.MaxValue"/>; when they are equal it is the
/// whole ring.
/// </summary>
/// <param name="Start">The position just before the arc (exclusive).</param>
/// <param name="End">The last position of the arc (inclusive).</param>
public readonly record struct RingRange(ulong Start, ulong End)
{
    /// <summary>Whether <paramref name="hash"/> falls in this arc.</summary>
    public bool Contains(ulong hash) => Start < End
        ? hash > Start && hash <= End
        : hash > Start || hash <= End;

    /// <summary>The fraction of the whole hash space that this arc covers.</summary>
    public double Fraction => Start == End ? 1.0 : unchecked(End - Start) / Math.Pow(2, 64);
}
