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
    // rents and returns one per local merge, and the bag's take and add and its count's two interlocked
    // operations were 34 of a coordinator loop's 579 samples in a store-cluster SET run (5.9%). The bag
    // holds the rest, for the threads that overlap.
    private ReplicaSession? _spare;
    private int _disposed;

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
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Rented before the pool was disposed (a read repair finishing as the node stops): nobody will take it.
            session.Dispose();
            return;
        }

        if (Interlocked.CompareExchange(ref _spare, session, null) is null)
        {
            DisposeIfClosed();
            return;
        }

        if (Interlocked.Increment(ref _idleCount) <= Keep)
        {
            _idle.Add(session);
            DisposeIfClosed();
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
        Volatile.Write(ref _disposed, 1);
        DisposeIfClosed();
    }

    /// <summary>Disposes the idle sessions once the pool is disposed: a return racing the pool's disposal may have put one back after it emptied.</summary>
    private void DisposeIfClosed()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            return;
        }

        Interlocked.Exchange(ref _spare, null)?.Dispose();
        while (_idle.TryTake(out var session))
        {
            session.Dispose();
        }
    }
}
