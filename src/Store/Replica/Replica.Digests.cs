using DataPlane.Store.AntiEntropy;

namespace DataPlane.Store.Replica;

internal sealed partial class Replica
{
    /// <summary>The Merkle trees anti-entropy compares (null on a single node): every applied merge and every purge updates them.</summary>
    public MerkleForest? Digests { get; private set; }

    /// <summary>
    /// Builds the trees from one scan of what the replica holds (tombstones included), then keeps them
    /// current on every write. Called once by a cluster node before it serves anything, so no write
    /// can fall between the scan and the first incremental update.
    /// </summary>
    public void EnableDigests(int partitions)
    {
        var forest = new MerkleForest(partitions);
        using (var iterator = IterateLive())
        {
            while (iterator.GetNext(out _))
            {
                var value = iterator.GetValue().AsReadOnlySpan();
                if (StoredValue.IsWellFormed(value))
                {
                    forest.Replace(iterator.GetKey().AsReadOnlySpan(), null, StoredValue.Version(value));
                }
            }
        }

        Digests = forest;
    }
}
