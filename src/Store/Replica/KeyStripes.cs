using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace DataPlane.Store.Replica;

/// <summary>
/// The replica's key locks: 4096 stripes, one int each, taken with a compare-and-swap. Every write of a
/// key takes its stripe, so a command's read-decide-write and a purge's check-then-delete see no other
/// write of the key in between. A <see cref="Lock"/> per stripe cost a cache miss per write on its
/// object (4096 objects scattered on the heap) and a thread-id lookup; the 16 KB array stays in cache
/// and can be prefetched with the rest of a merge's lines (<see cref="Prefetch"/>). A stripe is held
/// for one FASTER operation and a log append: a waiter spins, then yields (<see cref="SpinWait"/>).
/// </summary>
internal sealed class KeyStripes
{
    private const int StripeCount = 4096;

    private readonly int[] _stripes = GC.AllocateArray<int>(StripeCount, pinned: true);

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

    /// <summary>Starts loading the stripe's cache line, so that taking it later does not wait for memory.</summary>
    public unsafe void Prefetch(ulong keyHash)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Stripe(keyHash)));
        }
    }

    private ref int Stripe(ulong keyHash) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_stripes), (int)(keyHash & (StripeCount - 1)));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Contended(ref int stripe)
    {
        var spin = default(SpinWait);
        do
        {
            spin.SpinOnce();
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
