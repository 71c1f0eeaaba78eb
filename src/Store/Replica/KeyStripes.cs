using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataPlane.Store.Replica;

/// <summary>
/// The replica's key locks: 4096 stripes, one int each, taken with a compare-and-swap. Every write of a
/// key takes its stripe, so a command's read-decide-write and a purge's check-then-delete see no other
/// write of the key in between. A <see cref="Lock"/> per stripe cost a cache miss per write on its
/// object (4096 objects, 160 KB) and a thread-id lookup; the 16 KB array stays in cache. A stripe is
/// held for a read, one FASTER operation and a log append (a purge or a drop: a delete, which may wait
/// for a disk read): a waiter spins, then yields the processor, and never sleeps, since a sleep of a
/// millisecond or more per try would starve a hot key's waiter behind a holder that keeps taking it
/// back. Not reentrant: nothing done under a stripe takes another.
/// </summary>
internal sealed class KeyStripes
{
    private const int StripeCount = 4096;

    private readonly int[] _stripes = new int[StripeCount];

    /// <summary>Takes the stripe of a key (by its <see cref="Ring.RingHash"/>) until the scope is disposed.</summary>
    public Scope Enter(ulong keyHash)
    {
        ref var stripe = ref Stripe(keyHash);
        if (Interlocked.CompareExchange(ref stripe, 1, 0) != 0)
        {
            Contended(ref stripe);
        }

        return new Scope(ref stripe);
    }

    /// <summary>Whether the stripe of a key is held (by any thread): for tests.</summary>
    public bool IsHeld(ulong keyHash) => Volatile.Read(ref Stripe(keyHash)) != 0;

    private ref int Stripe(ulong keyHash) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_stripes), (int)(keyHash & (StripeCount - 1)));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Contended(ref int stripe)
    {
        var spin = default(SpinWait);
        do
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
        while (Volatile.Read(ref stripe) != 0 || Interlocked.CompareExchange(ref stripe, 1, 0) != 0);
    }

    /// <summary>A held stripe; disposing releases it.</summary>
    public readonly ref struct Scope
    {
        private readonly ref int _stripe;

        public Scope(ref int stripe) => _stripe = ref stripe;

        public void Dispose() => Volatile.Write(ref _stripe, 0);
    }
}
