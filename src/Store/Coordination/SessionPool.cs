using System.Collections.Concurrent;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// FASTER sessions for the coordinator's work on the local replica, which runs on whatever thread a
/// reply arrived on: a session is taken for one short synchronous step and given back.
/// </summary>
internal sealed class SessionPool(Replica.Replica replica) : IDisposable
{
    private const int Keep = 64;
    private readonly ConcurrentBag<ReplicaSession> _idle = [];

    // One idle session kept aside, taken and put back with one atomic exchange each: a coordinator's loop
    // rents and returns one per local merge, and the bag and its count cost it more than the merge's own
    // bookkeeping. The bag holds the rest, for the threads that overlap.
    private ReplicaSession? _spare;

    // Counted here: ConcurrentBag.Count takes every thread's list lock, which cost a coordinator's loop
    // more than the rent and return themselves, once per local merge.
    private int _idleCount;

    public ReplicaSession Rent()
    {
        if (Interlocked.Exchange(ref _spare, null) is { } spare)
        {
            return spare;
        }

        if (_idle.TryTake(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            return session;
        }

        return replica.NewSession();
    }

    public void Return(ReplicaSession session)
    {
        if (Interlocked.CompareExchange(ref _spare, session, null) is null)
        {
            return;
        }

        if (Interlocked.Increment(ref _idleCount) <= Keep)
        {
            _idle.Add(session);
        }
        else
        {
            Interlocked.Decrement(ref _idleCount);
            session.Dispose();
        }
    }

    /// <summary>The local stored value of <paramref name="key"/>, copied, or null.</summary>
    public byte[]? ReadStored(ReadOnlySpan<byte> key)
    {
        var session = Rent();
        try
        {
            return session.TryReadStored(key, out var stored) ? stored.ToArray() : null;
        }
        finally
        {
            Return(session);
        }
    }

    public MergeOutcome Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored) => Merge(key, stored, Ring.RingHash.Hash(key));

    /// <summary>As the other overload, with the key's <see cref="Ring.RingHash"/> the caller has already.</summary>
    public MergeOutcome Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, ulong keyHash)
    {
        var session = Rent();
        try
        {
            return session.Merge(key, stored, keyHash);
        }
        finally
        {
            Return(session);
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _spare, null)?.Dispose();
        while (_idle.TryTake(out var session))
        {
            session.Dispose();
        }
    }
}
