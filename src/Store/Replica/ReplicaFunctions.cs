using System.Buffers;
using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>
/// FASTER callbacks. Reads copy the stored bytes out; read-modify-write is the merge: the input is a
/// whole stored value and replaces the record only if its version is newer (last writer wins),
/// in place when the sizes match and by a copy to the tail otherwise.
/// </summary>
internal sealed class ReplicaFunctions : FunctionsBase<SpanByte, SpanByte, SpanByte, ReplicaOutput, Empty>
{
    public override bool SingleReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ReplicaOutput dst, ref ReadInfo readInfo)
    {
        value.CopyTo(ref dst.Value, MemoryPool<byte>.Shared);
        return true;
    }

    public override bool ConcurrentReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ReplicaOutput dst, ref ReadInfo readInfo)
    {
        value.CopyTo(ref dst.Value, MemoryPool<byte>.Shared);
        return true;
    }

    // Upserts come only from log compaction, which moves records whole, and from a sweep burying an expired value.
    public override bool SingleWriter(ref SpanByte key, ref SpanByte input, ref SpanByte src, ref SpanByte dst, ref ReplicaOutput output, ref UpsertInfo upsertInfo, WriteReason reason)
    {
        src.CopyTo(ref dst);
        return true;
    }

    public override bool ConcurrentWriter(ref SpanByte key, ref SpanByte input, ref SpanByte src, ref SpanByte dst, ref ReplicaOutput output, ref UpsertInfo upsertInfo)
    {
        if (dst.Length != src.Length)
        {
            return false;
        }

        src.CopyTo(ref dst);
        return true;
    }

    public override bool NeedInitialUpdate(ref SpanByte key, ref SpanByte input, ref ReplicaOutput output, ref RMWInfo rmwInfo) => true;

    public override bool InitialUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ReplicaOutput output, ref RMWInfo rmwInfo)
    {
        input.CopyTo(ref value);
        output.Outcome = MergeOutcome.Applied;
        output.ReplacedLive = false;
        output.ReplacedExpiring = false;
        output.ReplacedAny = false;
        return true;
    }

    public override bool NeedCopyUpdate(ref SpanByte key, ref SpanByte input, ref SpanByte oldValue, ref ReplicaOutput output, ref RMWInfo rmwInfo)
    {
        if (StoredValue.IsNewer(input.AsReadOnlySpan(), oldValue.AsReadOnlySpan()))
        {
            return true;
        }

        output.Outcome = MergeOutcome.Stale;
        return false;
    }

    public override bool CopyUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte oldValue, ref SpanByte newValue, ref ReplicaOutput output, ref RMWInfo rmwInfo)
    {
        Replaced(oldValue.AsReadOnlySpan(), ref output);
        input.CopyTo(ref newValue);
        return true;
    }

    public override bool InPlaceUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ReplicaOutput output, ref RMWInfo rmwInfo)
    {
        var existing = value.AsReadOnlySpan();
        if (!StoredValue.IsNewer(input.AsReadOnlySpan(), existing))
        {
            output.Outcome = MergeOutcome.Stale;
            return true;
        }

        if (value.Length != input.Length)
        {
            return false; // FASTER then asks NeedCopyUpdate and CopyUpdater for a record of the new size.
        }

        Replaced(existing, ref output);
        input.AsReadOnlySpan().CopyTo(value.AsSpan());
        return true;
    }

    private static void Replaced(ReadOnlySpan<byte> old, ref ReplicaOutput output)
    {
        output.Outcome = MergeOutcome.Applied;
        output.ReplacedLive = !StoredValue.IsTombstone(old);
        output.ReplacedExpiring = output.ReplacedLive && StoredValue.ExpiresAt(old) != 0;
        output.ReplacedAny = true;
        output.ReplacedVersion = StoredValue.Version(old);
    }
}
