namespace DataPlane.Ring;

public sealed partial class RingSnapshot<TNode>
{
    /// <summary>
    /// The exact share of the hash space each node owns (summed over its tokens' arcs), in the order
    /// of <see cref="Nodes"/>. The shares add up to 1 on a non-empty ring.
    /// </summary>
    public double[] GetLoadShares()
    {
        var shares = new double[_nodes.Length];
        for (var i = 0; i < _points.Length; i++)
        {
            var previous = _points[i == 0 ? _points.Length - 1 : i - 1];
            var arc = _points.Length == 1 ? Math.Pow(2, 64) : unchecked(_points[i] - previous);
            shares[_owners[i]] += arc / Math.Pow(2, 64);
        }

        return shares;
    }
}
