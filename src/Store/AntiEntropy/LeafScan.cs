using DataPlane.Store.Replica;

namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// Finds the keys of some leaves, with the version the replica holds now. The trees keep only hashes,
/// so the keys come from one pass over FASTER's whole log (memory and disk) for a whole batch of
/// leaves; each key found is then read once, which skips older versions of it still in the log and
/// keys purged since. Only leaves that differed at both of an exchange's looks pay for a scan.
/// </summary>
internal static class LeafScan
{
    public static Dictionary<int, List<KeyDigest>> Collect(Replica.Replica replica, ReplicaSession session, IReadOnlyCollection<int> leaves, AntiEntropyStats stats, CancellationToken cancellationToken)
    {
        var forest = replica.Digests ?? throw new InvalidOperationException("the replica keeps no digests");
        var result = new Dictionary<int, List<KeyDigest>>(leaves.Count);
        foreach (var leaf in leaves)
        {
            result[leaf] = [];
        }

        var keys = new HashSet<byte[]>(KeyComparer.Instance);
        var log = replica.Store.Log;
        var scanned = 0;
        stats.Scanned();
        using (var iterator = log.Scan(log.BeginAddress, log.TailAddress))
        {
            while (iterator.GetNext(out var info))
            {
                if ((++scanned & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (info.Tombstone)
                {
                    continue;
                }

                var key = iterator.GetKey().AsReadOnlySpan();
                if (result.ContainsKey(forest.LeafIndexOf(Ring.RingHash.Hash(key))))
                {
                    keys.Add(key.ToArray());
                }
            }
        }

        foreach (var key in keys)
        {
            if (session.TryReadStored(key, out var stored))
            {
                result[forest.LeafIndexOf(Ring.RingHash.Hash(key))].Add(new KeyDigest(key, StoredValue.Version(stored)));
            }
        }

        return result;
    }
}
