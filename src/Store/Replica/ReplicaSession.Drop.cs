using FASTER.core;

namespace DataPlane.Store.Replica;

internal sealed partial class ReplicaSession
{
    /// <summary>
    /// Deletes a key outright, whatever its version, if <paramref name="condition"/> holds: the copy of a
    /// partition this node handed to its new owners. The condition is judged under the key's stripe lock,
    /// the lock every write takes: checked outside it, a write made after this node took the key back (a
    /// newer epoch) could land between the check and the delete, and be deleted. Not logged: should a crash
    /// bring the key back from the write-ahead log, the next clean-up deletes it again. True if the key was
    /// there and is deleted.
    /// </summary>
    internal bool DropIf(ReadOnlySpan<byte> key, Func<ReadOnlySpan<byte>, bool> condition)
    {
        using (_replica.Stripes.Enter(Ring.RingHash.Hash(key)))
        {
            if (!TryReadStored(key, out var stored) || !condition(key))
            {
                return false;
            }

            var live = !StoredValue.IsTombstone(stored);
            var expiring = live && StoredValue.ExpiresAt(stored) != 0;
            unsafe
            {
                fixed (byte* k = key)
                {
                    var keyBytes = SpanByte.FromPointer(k, key.Length);
                    if (_session.Delete(ref keyBytes).IsPending)
                    {
                        _session.CompletePending(wait: true);
                    }
                }
            }

            if (live)
            {
                _replica.Uncount(expiring);
            }

            return true;
        }
    }
}
