using System.Buffers;
using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>
/// A FASTER session on the replica for one thread of control at a time (a connection, the
/// maintenance loop). A value read is valid until the session's next call; a write records the
/// write-ahead log sequence in <see cref="LastSequence"/> so a connection can wait for its fsync.
/// </summary>
internal sealed partial class ReplicaSession : IDisposable
{
    private const int ReadBufferBytes = 16 * 1024;

    private readonly Replica _replica;
    private readonly ClientSession<SpanByte, SpanByte, SpanByte, ReplicaOutput, Empty, ReplicaFunctions> _session;
    private readonly byte[] _readBuffer = GC.AllocateUninitializedArray<byte>(ReadBufferBytes, pinned: true);
    private IMemoryOwner<byte>? _overflow;
    private byte[] _writeBuffer = ArrayPool<byte>.Shared.Rent(4096);

    internal ReplicaSession(Replica replica)
    {
        _replica = replica;
        _session = replica.Store.For(replica.Functions).NewSession<ReplicaFunctions>(sessionVariableLengthStructSettings: replica.Lengths);
    }

    /// <summary>The write-ahead log sequence of this session's newest write.</summary>
    public long LastSequence { get; private set; }

    private long NowMs => _replica.Settings.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// The merge: stores <paramref name="stored"/> (a whole stored value: header and payload) for
    /// <paramref name="key"/> only if its version is newer than what is there, and logs it if so.
    /// Replication, hinted handoff and anti-entropy deliver remote writes through this.
    /// </summary>
    public MergeOutcome Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored) => Merge(key, stored, Ring.RingHash.Hash(key));

    /// <summary>As the other overload, for a caller that has the key's <see cref="Ring.RingHash"/> already (a coordinator placed the key with it): one hash serves placement, stripe and digest.</summary>
    public MergeOutcome Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, ulong keyHash)
    {
        ThrowIfLogFailed();
        _replica.Clock.Observe(StoredValue.Version(stored).Timestamp);
        using (_replica.Stripes.Enter(keyHash))
        {
            var output = MergeCore(key, stored, keyHash);
            var live = !StoredValue.IsTombstone(stored);
            _replica.Count(output, live, live && StoredValue.ExpiresAt(stored) != 0);
            if (output.Outcome == MergeOutcome.Applied)
            {
                LastSequence = _replica.AppendToLog(key, stored);
            }

            return output.Outcome;
        }
    }

    /// <summary>Reads the whole stored value (header and payload, tombstones and expired values included).</summary>
    public bool TryReadStored(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> stored)
    {
        _overflow?.Dispose();
        _overflow = null;
        ReplicaOutput output;
        Status status;
        unsafe
        {
            fixed (byte* k = key)
            fixed (byte* buffer = _readBuffer)
            {
                var keyBytes = SpanByte.FromPointer(k, key.Length);
                output = new ReplicaOutput { Value = new SpanByteAndMemory(SpanByte.FromPointer(buffer, _readBuffer.Length)) };
                status = _session.Read(ref keyBytes, ref output);
                if (status.IsPending)
                {
                    _session.CompletePendingWithOutputs(out var completed, wait: true);
                    using (completed)
                    {
                        completed.Next();
                        status = completed.Current.Status;
                        output = completed.Current.Output;
                    }
                }
            }
        }

        if (!status.Found)
        {
            stored = default;
            return false;
        }

        if (output.Value.IsSpanByte)
        {
            stored = _readBuffer.AsSpan(0, output.Value.Length);
        }
        else
        {
            _overflow = output.Value.Memory;
            stored = _overflow.Memory.Span[..output.Value.Length];
        }

        return StoredValue.IsWellFormed(stored);
    }

    /// <summary>Reads a value that readers may see: present, not a tombstone, not expired.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> payload, out long expiresAtMs)
    {
        if (TryReadStored(key, out var stored) && StoredValue.IsVisible(stored, NowMs))
        {
            payload = StoredValue.Payload(stored);
            expiresAtMs = StoredValue.ExpiresAt(stored);
            return true;
        }

        payload = default;
        expiresAtMs = 0;
        return false;
    }

    internal void MergeWithoutLog(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        _replica.Clock.Observe(StoredValue.Version(stored).Timestamp);
        var output = MergeCore(key, stored);
        var live = !StoredValue.IsTombstone(stored);
        _replica.Count(output, live, live && StoredValue.ExpiresAt(stored) != 0);
    }

    /// <summary>Deletes a reclaimable record from FASTER if it is still the version the sweep saw.</summary>
    internal bool Purge(ReadOnlySpan<byte> key, ValueVersion version, long nowMs)
    {
        using (_replica.Stripes.Enter(Ring.RingHash.Hash(key)))
        {
            if (!TryReadStored(key, out var stored) || StoredValue.Version(stored) != version || !_replica.IsReclaimable(stored, nowMs))
            {
                return false;
            }

            var wasLive = !StoredValue.IsTombstone(stored);
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

            if (wasLive)
            {
                _replica.Uncount(expiring: true);
            }

            _replica.Digests?.Remove(key, version);

            return true;
        }
    }

    /// <summary>
    /// Replaces an expired value by a tombstone of the same version if it is still the version the sweep
    /// saw: the payload goes and the key leaves the count, while the version stays to beat an older write
    /// still on its way, for the tombstone grace after the expiry. The digests hash the key and version
    /// only, so they do not change.
    /// </summary>
    internal bool Bury(ReadOnlySpan<byte> key, ValueVersion version, long nowMs)
    {
        using (_replica.Stripes.Enter(Ring.RingHash.Hash(key)))
        {
            if (!TryReadStored(key, out var stored) || StoredValue.Version(stored) != version || !Replica.IsExpired(stored, nowMs))
            {
                return false;
            }

            // The tombstone keeps the expiry: its grace runs from there, not from the write (a TTL longer than the
            // grace would otherwise leave a tombstone already due, protecting nothing).
            Span<byte> tombstone = stackalloc byte[StoredValue.HeaderSize];
            StoredValue.WriteHeader(tombstone, version, tombstone: true, expiresAtMs: StoredValue.ExpiresAt(stored));
            unsafe
            {
                fixed (byte* k = key)
                fixed (byte* t = tombstone)
                {
                    var keyBytes = SpanByte.FromPointer(k, key.Length);
                    var value = SpanByte.FromPointer(t, tombstone.Length);
                    if (_session.Upsert(ref keyBytes, ref value).IsPending)
                    {
                        _session.CompletePending(wait: true);
                    }
                }
            }

            _replica.Uncount(expiring: true);
            return true;
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _overflow?.Dispose();
        ArrayPool<byte>.Shared.Return(_writeBuffer);
    }

    /// <summary>Merges into FASTER and records an applied merge in the digests; <paramref name="keyHash"/> is the key's hash when the caller has it.</summary>
    private ReplicaOutput MergeCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, ulong? keyHash = null)
    {
        var digests = _replica.Digests;
        if (digests is not null)
        {
            keyHash ??= Ring.RingHash.Hash(key);
            digests.Prefetch(keyHash.Value);
        }

        var output = default(ReplicaOutput);
        unsafe
        {
            fixed (byte* k = key)
            fixed (byte* v = stored)
            {
                var keyBytes = SpanByte.FromPointer(k, key.Length);
                var input = SpanByte.FromPointer(v, stored.Length);
                var status = _session.RMW(ref keyBytes, ref input, ref output);
                if (status.IsPending)
                {
                    _session.CompletePendingWithOutputs(out var completed, wait: true);
                    using (completed)
                    {
                        completed.Next();
                        output = completed.Current.Output;
                    }
                }
            }
        }

        if (output.Outcome == MergeOutcome.Applied && digests is not null)
        {
            digests.Replace(keyHash!.Value, output.ReplacedAny ? output.ReplacedVersion : null, StoredValue.Version(stored));
        }

        return output;
    }

    private void ThrowIfLogFailed()
    {
        if (_replica.Wal.Fault is { } fault)
        {
            throw new IOException("the write-ahead log failed: " + fault.Message, fault);
        }
    }
}
