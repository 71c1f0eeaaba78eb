using System.Collections.Immutable;

namespace DataPlane.Ring;

/// <summary>
/// A consistent hash ring with virtual nodes and per-node weights. Reads go to an immutable
/// <see cref="RingSnapshot{TNode}"/> behind one reference: no lock, no allocation. Membership changes
/// build a new snapshot and publish it with a compare-and-swap, so concurrent writers never lose each
/// other's change and readers never see a half-built ring.
/// </summary>
/// <typeparam name="TNode">The node type; equality decides membership.</typeparam>
public sealed class HashRing<TNode> where TNode : notnull
{
    private readonly Func<TNode, string> _identify;
    private readonly int _virtualNodes;
    private State _state;

    /// <summary>Creates an empty ring.</summary>
    /// <param name="options">Ring settings; the defaults when null.</param>
    /// <param name="identify">
    /// The stable name a node's tokens are hashed from (its address, its id). Two processes that name
    /// their nodes alike build the same ring. Defaults to <see cref="object.ToString"/>.
    /// </param>
    public HashRing(RingOptions? options = null, Func<TNode, string>? identify = null)
    {
        options ??= new RingOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.VirtualNodes, 1, nameof(options));
        _virtualNodes = options.VirtualNodes;
        _identify = identify ?? (node => node.ToString() ?? string.Empty);
        _state = new State(ImmutableDictionary<TNode, double>.Empty, ImmutableList<TNode>.Empty, RingSnapshot<TNode>.Empty);
    }

    /// <summary>The current snapshot; keep it to make several lookups against one membership.</summary>
    public RingSnapshot<TNode> Current => Volatile.Read(ref _state).Snapshot;

    /// <summary>Adds a node with a weight (its share of tokens relative to weight 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The weight is not a positive finite number.</exception>
    /// <exception cref="InvalidOperationException">The node is already on the ring.</exception>
    public RingSnapshot<TNode> Add(TNode node, double weight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!(weight > 0) || double.IsInfinity(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "A node's weight must be a positive finite number.");
        }

        return Publish(state => state.Weights.ContainsKey(node)
            ? throw new InvalidOperationException($"Node '{_identify(node)}' is already on the ring.")
            : (state.Weights.Add(node, weight), state.Order.Add(node)));
    }

    /// <summary>Removes a node.</summary>
    /// <exception cref="InvalidOperationException">The node is not on the ring.</exception>
    public RingSnapshot<TNode> Remove(TNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Publish(state =>
        {
            var weights = state.Weights.Remove(node);
            return weights != state.Weights
                ? (weights, state.Order.Remove(node))
                : throw new InvalidOperationException($"Node '{_identify(node)}' is not on the ring.");
        });
    }

    /// <summary>The owner of <paramref name="key"/> on the current snapshot.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode GetOwner(ReadOnlySpan<byte> key) => Current.GetOwner(key);

    /// <summary>The owner of a string key on the current snapshot.</summary>
    /// <exception cref="InvalidOperationException">The ring is empty.</exception>
    public TNode GetOwner(ReadOnlySpan<char> key) => Current.GetOwner(key);

    /// <summary>The owner of <paramref name="key"/>, or false on an empty ring.</summary>
    public bool TryGetOwner(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TNode owner) =>
        Current.TryGetOwner(key, out owner);

    /// <summary>The owner of a string key, or false on an empty ring.</summary>
    public bool TryGetOwner(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TNode owner) =>
        Current.TryGetOwner(key, out owner);

    /// <summary>The first <paramref name="n"/> distinct nodes clockwise from <paramref name="key"/>; returns how many were written.</summary>
    public int GetReplicas(ReadOnlySpan<byte> key, int n, Span<TNode> destination) => Current.GetReplicas(key, n, destination);

    /// <summary>The first <paramref name="n"/> distinct nodes clockwise from a string key; returns how many were written.</summary>
    public int GetReplicas(ReadOnlySpan<char> key, int n, Span<TNode> destination) => Current.GetReplicas(key, n, destination);

    private RingSnapshot<TNode> Publish(Func<State, (ImmutableDictionary<TNode, double> Weights, ImmutableList<TNode> Order)> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _state);
            var (weights, order) = change(current);
            var nodes = order.ToArray();
            var nodeWeights = new double[nodes.Length];
            for (var i = 0; i < nodes.Length; i++)
            {
                nodeWeights[i] = weights[nodes[i]];
            }

            var next = new State(weights, order, new RingSnapshot<TNode>(nodes, nodeWeights, _identify, _virtualNodes));
            if (Interlocked.CompareExchange(ref _state, next, current) == current)
            {
                return next.Snapshot;
            }
        }
    }

    private sealed record State(ImmutableDictionary<TNode, double> Weights, ImmutableList<TNode> Order, RingSnapshot<TNode> Snapshot);
}
