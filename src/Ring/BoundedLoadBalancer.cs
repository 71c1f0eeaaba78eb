namespace DataPlane.Ring;

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, 2016; HAProxy's
/// <c>hash-balance-factor</c>): a key goes to the first node clockwise whose load is below
/// <c>ceil(c x (m + 1) / n)</c>, where m items are placed on n nodes, so a hot key spills to the next
/// node instead of overloading its owner. Loads are counted here, per snapshot: acquire when an item
/// (a connection, a request) starts, release when it ends. Thread-safe without locks.
/// </summary>
/// <typeparam name="TNode">The node type.</typeparam>
public sealed class BoundedLoadBalancer<TNode> where TNode : notnull
{
    private readonly RingSnapshot<TNode> _ring;
    private readonly double _factor;
    private readonly long[] _loads;
    private long _total;

    /// <summary>Creates a balancer over one snapshot.</summary>
    /// <param name="ring">The ring snapshot; a new membership needs a new balancer.</param>
    /// <param name="factor">The balance factor c, greater than 1 (1.25 is a common choice).</param>
    public BoundedLoadBalancer(RingSnapshot<TNode> ring, double factor)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (!(factor > 1) || double.IsInfinity(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The balance factor must be a finite number greater than 1.");
        }

        _ring = ring;
        _factor = factor;
        _loads = new long[ring.NodeCount];
    }

    /// <summary>The load cap a node may reach with the items placed now plus one more.</summary>
    public long Capacity => CapacityFor(Volatile.Read(ref _total) + 1);

    /// <summary>The current load of <paramref name="node"/>.</summary>
    public long LoadOf(TNode node) => Volatile.Read(ref _loads[IndexOf(node)]);

    /// <summary>Places one item with <paramref name="key"/> and returns the node that takes it.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode Acquire(ReadOnlySpan<byte> key) => Acquire(RingHash.Hash(key));

    /// <summary>Places one item with a string key and returns the node that takes it.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode Acquire(ReadOnlySpan<char> key) => Acquire(RingHash.Hash(key));

    /// <summary>Places one item at a ring position and returns the node that takes it.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode Acquire(ulong hash)
    {
        if (_ring.TokenCountTotal == 0)
        {
            ThrowHelper.EmptyRing();
        }

        var capacity = CapacityFor(Interlocked.Increment(ref _total));
        var tokens = _ring.TokenCountTotal;
        while (true)
        {
            // c > 1 makes the sum of capacities exceed the items, so one full turn finds a node with
            // room unless concurrent acquirers took it meanwhile; then the turn is taken again.
            var t = _ring.FindToken(hash);
            for (var step = 0; step < tokens; step++)
            {
                var owner = _ring.OwnerAt(t);
                var load = Volatile.Read(ref _loads[owner]);
                while (load < capacity)
                {
                    var seen = Interlocked.CompareExchange(ref _loads[owner], load + 1, load);
                    if (seen == load)
                    {
                        return _ring.NodeAt(owner);
                    }

                    load = seen;
                }

                if (++t == tokens)
                {
                    t = 0;
                }
            }

            capacity = CapacityFor(Volatile.Read(ref _total));
        }
    }

    /// <summary>Ends one item that <see cref="Acquire(ulong)"/> placed on <paramref name="node"/>.</summary>
    /// <exception cref="InvalidOperationException">The node holds no item.</exception>
    public void Release(TNode node)
    {
        var i = IndexOf(node);
        if (Interlocked.Decrement(ref _loads[i]) < 0)
        {
            Interlocked.Increment(ref _loads[i]);
            throw new InvalidOperationException("Release without a matching Acquire.");
        }

        Interlocked.Decrement(ref _total);
    }

    private long CapacityFor(long items) => (long)Math.Ceiling(_factor * items / _ring.NodeCount);

    private int IndexOf(TNode node)
    {
        var i = _ring.IndexOf(node);
        return i >= 0 ? i : throw new ArgumentException("The node is not on this balancer's ring.", nameof(node));
    }
}
