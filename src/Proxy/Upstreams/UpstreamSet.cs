using DataPlane.Ring;

namespace DataPlane.Proxy.Upstreams;

/// <summary>
/// The immutable set of upstreams a listener balances over. A reconfiguration builds a new set and
/// swaps the reference; a pick reads one reference and takes no lock.
/// </summary>
internal sealed class UpstreamSet
{
    public UpstreamSet(Upstream[] items, bool withRing)
    {
        Items = items;
        if (withRing)
        {
            // Ring nodes are indices into Items, named by address so the ring does not depend on order.
            var ring = new HashRing<int>(identify: i => items[i].Address);
            for (var i = 0; i < items.Length; i++)
            {
                ring.Add(i, items[i].Weight);
            }

            Ring = ring.Current;
        }
    }

    public Upstream[] Items { get; }

    /// <summary>The consistent hash ring over the upstreams (ring-hash policy only).</summary>
    public RingSnapshot<int>? Ring { get; }

    public int Count => Items.Length;
}
