using System.Numerics;
using System.Runtime.CompilerServices;

namespace DataPlane.Ring;

/// <summary>
/// One immutable version of the ring: sorted token positions, the node that owns each, and a
/// lookup table indexed by a position's top bits that narrows the binary search to a bucket of one
/// or two tokens. Lookups take no lock and allocate nothing; every membership change builds a new
/// snapshot.
/// </summary>
/// <typeparam name="TNode">The node type.</typeparam>
public sealed partial class RingSnapshot<TNode> where TNode : notnull
{
    private const int MaxTableBits = 16;

    private readonly ulong[] _points;
    private readonly int[] _owners;
    private readonly int[] _table;
    private readonly int _shift;
    private readonly TNode[] _nodes;
    private readonly double[] _weights;
    private readonly Dictionary<TNode, int> _indexOf;

    internal RingSnapshot(TNode[] nodes, double[] weights, Func<TNode, string> identify, int virtualNodes)
    {
        _nodes = nodes;
        _weights = weights;
        _indexOf = new Dictionary<TNode, int>(nodes.Length);
        var total = 0;
        for (var i = 0; i < nodes.Length; i++)
        {
            _indexOf.Add(nodes[i], i);
            total += TokenCount(weights[i], virtualNodes);
        }

        _points = new ulong[total];
        _owners = new int[total];
        var k = 0;
        for (var i = 0; i < nodes.Length; i++)
        {
            var id = identify(nodes[i]);
            var count = TokenCount(weights[i], virtualNodes);
            for (var v = 0; v < count; v++)
            {
                _points[k] = RingHash.Token(id, v);
                _owners[k++] = i;
            }
        }

        // Ties between positions (vanishingly rare at 64 bits) are ordered by node index so that the
        // same membership always yields the same ring.
        Array.Sort(_points, _owners);
        SortTies(_points, _owners);

        var bits = total <= 1 ? 1 : Math.Min(MaxTableBits, BitOperations.Log2((uint)(total - 1)) + 1);
        _shift = 64 - bits;
        _table = new int[(1 << bits) + 1];
        var p = 0;
        for (var b = 0; b < 1 << bits; b++)
        {
            var bucketStart = (ulong)b << _shift;
            while (p < total && _points[p] < bucketStart)
            {
                p++;
            }

            _table[b] = p;
        }

        _table[1 << bits] = total;
    }

    /// <summary>An empty ring.</summary>
    internal static RingSnapshot<TNode> Empty { get; } = new([], [], _ => string.Empty, 0);

    /// <summary>The physical nodes, in the order they joined.</summary>
    public ReadOnlySpan<TNode> Nodes => _nodes;

    /// <summary>How many physical nodes the ring holds.</summary>
    public int NodeCount => _nodes.Length;

    /// <summary>How many tokens (virtual nodes) the ring holds.</summary>
    public int TokenCountTotal => _points.Length;

    /// <summary>Whether <paramref name="node"/> is on this ring.</summary>
    public bool Contains(TNode node) => _indexOf.ContainsKey(node);

    /// <summary>The weight <paramref name="node"/> joined with.</summary>
    public double WeightOf(TNode node) => _weights[_indexOf[node]];

    internal int IndexOf(TNode node) => _indexOf.TryGetValue(node, out var i) ? i : -1;

    internal TNode NodeAt(int index) => _nodes[index];

    /// <summary>The owner of <paramref name="key"/>: the node of the first token clockwise from its hash.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode GetOwner(ReadOnlySpan<byte> key) => GetOwner(RingHash.Hash(key));

    /// <summary>The owner of a string key, hashed as UTF-8 without allocating.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode GetOwner(ReadOnlySpan<char> key) => GetOwner(RingHash.Hash(key));

    /// <summary>The owner of a position on the ring.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode GetOwner(ulong hash)
    {
        if (_points.Length == 0)
        {
            ThrowHelper.EmptyRing();
        }

        return _nodes[_owners[FindToken(hash)]];
    }

    /// <summary>The owner of <paramref name="key"/>, or false on an empty ring.</summary>
    public bool TryGetOwner(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TNode owner) =>
        TryGetOwner(RingHash.Hash(key), out owner);

    /// <summary>The owner of a string key, or false on an empty ring.</summary>
    public bool TryGetOwner(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TNode owner) =>
        TryGetOwner(RingHash.Hash(key), out owner);

    /// <summary>The owner of a position, or false on an empty ring.</summary>
    public bool TryGetOwner(ulong hash, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TNode owner)
    {
        if (_points.Length == 0)
        {
            owner = default;
            return false;
        }

        owner = _nodes[_owners[FindToken(hash)]];
        return true;
    }

    /// <summary>
    /// The preference list of <paramref name="key"/>: the first <paramref name="n"/> distinct physical
    /// nodes clockwise from its hash, written to <paramref name="destination"/>. Returns how many were
    /// written: fewer than <paramref name="n"/> when the ring has fewer nodes, 0 when it is empty.
    /// </summary>
    public int GetReplicas(ReadOnlySpan<byte> key, int n, Span<TNode> destination) =>
        GetReplicas(RingHash.Hash(key), n, destination);

    /// <summary>The preference list of a string key.</summary>
    public int GetReplicas(ReadOnlySpan<char> key, int n, Span<TNode> destination) =>
        GetReplicas(RingHash.Hash(key), n, destination);

    /// <summary>The preference list of a position on the ring.</summary>
    public int GetReplicas(ulong hash, int n, Span<TNode> destination)
    {
        if (n <= 0)
        {
            ThrowHelper.ReplicaCount(n);
        }

        var want = Math.Min(n, _nodes.Length);
        if (destination.Length < want)
        {
            ThrowHelper.DestinationTooShort(want, destination.Length);
        }

        Span<int> indexes = want <= 128 ? stackalloc int[want] : new int[want];
        var found = GetReplicaIndexes(hash, indexes);
        for (var i = 0; i < found; i++)
        {
            destination[i] = _nodes[indexes[i]];
        }

        return found;
    }

    /// <summary>Fills <paramref name="indexes"/> with the node indexes of the first distinct owners clockwise.</summary>
    internal int GetReplicaIndexes(ulong hash, Span<int> indexes)
    {
        if (_points.Length == 0)
        {
            return 0;
        }

        var want = Math.Min(indexes.Length, _nodes.Length);
        var t = FindToken(hash);
        var found = 0;
        for (var step = 0; step < _points.Length && found < want; step++)
        {
            var owner = _owners[t];
            if (!indexes[..found].Contains(owner))
            {
                indexes[found++] = owner;
            }

            if (++t == _points.Length)
            {
                t = 0;
            }
        }

        return found;
    }

    /// <summary>The index of the first token at or after <paramref name="hash"/>, wrapping to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int FindToken(ulong hash)
    {
        var bucket = (int)(hash >> _shift);
        var table = _table;
        var lo = table[bucket];
        var hi = table[bucket + 1];
        var points = _points;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (points[mid] < hash)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo == points.Length ? 0 : lo;
    }

    /// <summary>The position of token <paramref name="index"/>.</summary>
    internal ulong TokenAt(int index) => _points[index];

    /// <summary>The node index owning token <paramref name="index"/>.</summary>
    internal int OwnerAt(int index) => _owners[index];

    private static int TokenCount(double weight, int virtualNodes) =>
        Math.Max(1, (int)Math.Round(weight * virtualNodes));

    private static void SortTies(ulong[] points, int[] owners)
    {
        for (var i = 1; i < points.Length; i++)
        {
            for (var j = i; j > 0 && points[j] == points[j - 1] && owners[j] < owners[j - 1]; j--)
            {
                (owners[j], owners[j - 1]) = (owners[j - 1], owners[j]);
            }
        }
    }
}
