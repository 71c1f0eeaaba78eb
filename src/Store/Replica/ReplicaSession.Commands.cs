using System.Buffers;

namespace DataPlane.Store.Replica;

/// <summary>The commands a client runs on its own node: each reads, decides and writes under the key's lock, with a fresh version.</summary>
internal sealed partial class ReplicaSession
{
    /// <summary>SET with its options; the replaced value (for GET) is in <paramref name="old"/>, valid until the next call.</summary>
    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAtMs, SetCondition condition, bool keepTtl, out bool hadOld, out ReadOnlySpan<byte> old)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            hadOld = false;
            old = default;
            if (condition != SetCondition.Always || keepTtl)
            {
                hadOld = TryGet(key, out old, out var oldExpiry);
                if ((condition == SetCondition.IfAbsent && hadOld) || (condition == SetCondition.IfPresent && !hadOld))
                {
                    return false;
                }

                expiresAtMs = keepTtl && hadOld ? oldExpiry : expiresAtMs;
            }

            WriteLocal(keyHash, key, value, default, tombstone: false, expiresAtMs);
            return true;
        }
    }

    /// <summary>SET ... GET: like <see cref="Set"/>, reading the old value first.</summary>
    public bool SetAndGet(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAtMs, SetCondition condition, bool keepTtl, out bool hadOld, out ReadOnlySpan<byte> old)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            hadOld = TryGet(key, out old, out var oldExpiry);
            if ((condition == SetCondition.IfAbsent && hadOld) || (condition == SetCondition.IfPresent && !hadOld))
            {
                return false;
            }

            WriteLocal(keyHash, key, value, default, tombstone: false, keepTtl && hadOld ? oldExpiry : expiresAtMs);
            return true;
        }
    }

    /// <summary>DEL of one key: writes a tombstone if the key is visible.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            if (!TryGet(key, out _, out _))
            {
                return false;
            }

            WriteLocal(keyHash, key, default, default, tombstone: true, 0);
            return true;
        }
    }

    /// <summary>EXPIRE / PEXPIRE at an absolute time; a time already past deletes the key.</summary>
    public bool ExpireAt(ReadOnlySpan<byte> key, long expiresAtMs)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            if (!TryGet(key, out var payload, out _))
            {
                return false;
            }

            var deleted = expiresAtMs <= NowMs;
            WriteLocal(keyHash, key, deleted ? default : payload, default, tombstone: deleted, deleted ? 0 : expiresAtMs);
            return true;
        }
    }

    /// <summary>PERSIST: drops a visible key's expiry.</summary>
    public bool Persist(ReadOnlySpan<byte> key)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            if (!TryGet(key, out var payload, out var expires) || expires == 0)
            {
                return false;
            }

            WriteLocal(keyHash, key, payload, default, tombstone: false, 0);
            return true;
        }
    }

    /// <summary>INCRBY: the value must be an integer string; the expiry is kept.</summary>
    public IncrementResult IncrementBy(ReadOnlySpan<byte> key, long delta, out long result)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            result = 0;
            var current = 0L;
            var expires = 0L;
            if (TryGet(key, out var payload, out expires) && !Integers.TryParse(payload, out current))
            {
                return IncrementResult.NotAnInteger;
            }

            if ((delta > 0 && current > long.MaxValue - delta) || (delta < 0 && current < long.MinValue - delta))
            {
                return IncrementResult.Overflow;
            }

            result = current + delta;
            Span<byte> text = stackalloc byte[Integers.MaxLength];
            WriteLocal(keyHash, key, text[..Integers.Format(result, text)], default, tombstone: false, expires);
            return IncrementResult.Done;
        }
    }

    /// <summary>APPEND: returns the new length, or -1 if it would pass <paramref name="maxLength"/>.</summary>
    public long Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> suffix, long maxLength)
    {
        ThrowIfLogFailed();
        var keyHash = Ring.RingHash.Hash(key);
        using (_replica.Stripes.Enter(keyHash))
        {
            TryGet(key, out var payload, out var expires);
            var length = (long)payload.Length + suffix.Length;
            if (length > maxLength)
            {
                return -1;
            }

            WriteLocal(keyHash, key, payload, suffix, tombstone: false, expires);
            return length;
        }
    }

    /// <summary>FLUSHDB: a tombstone for every visible key; returns how many.</summary>
    public int DeleteAll()
    {
        var deleted = 0;
        foreach (var key in _replica.VisibleKeys())
        {
            deleted += Delete(key) ? 1 : 0;
        }

        return deleted;
    }

    /// <summary>Writes a new version of <paramref name="key"/> (whose <see cref="Ring.RingHash"/> the caller took its stripe with) and logs it.</summary>
    private void WriteLocal(ulong keyHash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> suffix, bool tombstone, long expiresAtMs)
    {
        var size = StoredValue.HeaderSize + payload.Length + suffix.Length;
        if (_writeBuffer.Length < size)
        {
            ArrayPool<byte>.Shared.Return(_writeBuffer);
            _writeBuffer = ArrayPool<byte>.Shared.Rent(size);
        }

        var stored = _writeBuffer.AsSpan(0, size);
        StoredValue.WriteHeader(stored, new ValueVersion(_replica.Clock.Next(), _replica.Settings.NodeId), tombstone, expiresAtMs);
        payload.CopyTo(stored[StoredValue.HeaderSize..]);
        suffix.CopyTo(stored[(StoredValue.HeaderSize + payload.Length)..]);
        var output = MergeCore(key, stored, keyHash);
        _replica.Count(output, !tombstone, !tombstone && expiresAtMs != 0);
        LastSequence = _replica.AppendToLog(key, stored);
    }
}
