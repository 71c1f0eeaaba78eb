using FASTER.core;

namespace DataPlane.Store.Replica;

internal sealed partial class ReplicaSession
{
    /// <summary>
    /// Deletes a key outright, whatever its version: the copy of a partition this node handed to its
    /// new owners. Not logged: should a crash bring it back from the write-ahead log, the next
    /// clean-up deletes it again. True if the key was there.
    /// </summary>
    internal bool Drop(ReadOnlySpan<byte> key)
    {
        lock (_replica.StripeFor(key))
        {
            if (!TryReadStored(key, out var stored))
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
