using System.Reflection;
using System.Runtime.Intrinsics.X86;
using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>
/// Software prefetch of a key's FASTER hash bucket and record, for a batch of keys known ahead (a
/// receive buffer of pipelined commands or replicated writes). A merge on a large store waits on two
/// cache misses in a row, the bucket and then the record it points to; touching both for the keys a
/// few places ahead overlaps those misses with the work on the current one. FASTER 2.6 has no API for
/// it, so the index table and the log's page table are read from its fields once, after recovery (which
/// replaces the table when the checkpoint's size differs), and the prefetcher holds both arrays so that
/// neither can go while it reads them: it is valid for this store as long as nothing grows the index,
/// which nothing here does. A page table entry read stale only prefetches the wrong line, and a prefetch
/// never faults, whatever the address: a wrong guess costs a wasted line and nothing else.
/// </summary>
internal sealed unsafe class FasterPrefetch
{
    private const int TagBits = 14;
    private const int HashTagShift = 64 - TagBits;
    private const int EntryTagShift = 62 - TagBits;
    private const long TagMask = (1L << TagBits) - 1;
    private const long AddressMask = (1L << 48) - 1;
    private const long TentativeBit = 1L << 63;
    private const int EntriesPerBucket = 7;

    private readonly long* _buckets;
    private readonly long _bucketMask;
    private readonly long* _pages;
    private readonly int _pageBits;
    private readonly int _pageMask;

    // The pinned arrays behind the two pointers, held so that they live as long as the prefetcher.
    private readonly Array _table;
    private readonly long[] _pageTable;

    private FasterPrefetch(Array table, long* buckets, long bucketMask, long[] pageTable, long* pages, int pageBits, int bufferSize)
    {
        _table = table;
        _pageTable = pageTable;
        _buckets = buckets;
        _bucketMask = bucketMask;
        _pages = pages;
        _pageBits = pageBits;
        _pageMask = bufferSize - 1;
    }

    /// <summary>The prefetcher for <paramref name="store"/> as it is now (after its recovery), or null where the fields it reads are not what it expects (another FASTER version).</summary>
    public static FasterPrefetch? For(FasterKV<SpanByte, SpanByte> store)
    {
        const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
        var version = typeof(FasterBase).GetField("resizeInfo", Instance)?.GetValue(store) is { } resize
            ? resize.GetType().GetField("version", Instance)?.GetValue(resize) as int?
            : null;
        var table = version is { } v && typeof(FasterBase).GetField("state", Instance)?.GetValue(store) is Array states && v < states.Length
            ? states.GetValue(v)
            : null;
        var tableType = table?.GetType();
        var raw = tableType?.GetField("tableRaw", Instance)?.GetValue(table) as Array;
        var buckets = tableType?.GetField("tableAligned", Instance)?.GetValue(table) is Pointer aligned ? (long*)Pointer.Unbox(aligned) : null;
        var sizeMask = tableType?.GetField("size_mask", Instance)?.GetValue(table) as long?;

        var log = typeof(FasterKV<SpanByte, SpanByte>).GetField("hlog", Instance)?.GetValue(store);
        var logType = log?.GetType();
        var pageTable = logType?.GetField("pointers", Instance)?.GetValue(log) as long[];
        var pages = logType?.GetField("nativePointers", Instance)?.GetValue(log) is Pointer native ? (long*)Pointer.Unbox(native) : null;
        var pageBits = FindField(logType, "LogPageSizeBits")?.GetValue(log) as int?;
        var bufferSize = FindField(logType, "BufferSize")?.GetValue(log) as int?;
        if (raw is null || buckets is null || pageTable is null || pages is null || sizeMask is not { } mask || pageBits is not { } bits || bufferSize is not { } size || size <= 0 || (size & (size - 1)) != 0 || pageTable.Length < size)
        {
            return null;
        }

        return new FasterPrefetch(raw, buckets, mask, pageTable, pages, bits, size);
    }

    /// <summary>How many keys ahead a batch (a pipeline of commands, a peer's frames) prefetches: enough misses in flight to overlap, few enough that the first lines are still cached when their keys' turn comes.</summary>
    public const int Lookahead = 16;

    /// <summary>Whether this CPU has the prefetch instruction: without it, a caller need not look ahead for keys at all.</summary>
    public static bool IsSupported => Sse.IsSupported;

    /// <summary>FASTER's hash of a key (as its <see cref="SpanByteComparer"/> computes it).</summary>
    public static long Hash(ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            return Utility.HashBytes(k, key.Length);
        }
    }

    /// <summary>
    /// Prefetches the buckets of the keys with these <see cref="Hash"/>es, then the records they point to:
    /// the second stage reads the buckets, so it waits for the first of them, while the others arrive
    /// alongside (a batch of misses costs about one).
    /// </summary>
    public void Prefetch(ReadOnlySpan<long> hashes)
    {
        if (!IsSupported)
        {
            return;
        }

        foreach (var hash in hashes)
        {
            Sse.Prefetch0(_buckets + ((hash & _bucketMask) * 8));
        }

        foreach (var hash in hashes)
        {
            var record = RecordPointer(hash);
            if (record != 0)
            {
                Sse.Prefetch0((void*)record);
            }
        }
    }

    /// <summary>Where in memory the record <see cref="RecordAddress"/> names would be (if it is in memory), 0 if there is none: the line <see cref="Prefetch"/> touches.</summary>
    internal nint RecordPointer(long hash)
    {
        var address = RecordAddress(hash);
        return address == 0 ? 0 : (nint)(_pages[(int)(address >> _pageBits) & _pageMask] + (address & ((1L << _pageBits) - 1)));
    }

    /// <summary>The logical address in the key's bucket under its tag (the newest record of that tag), 0 if none: the record <see cref="Prefetch"/> touches.</summary>
    internal long RecordAddress(long hash)
    {
        var bucket = _buckets + ((hash & _bucketMask) * 8);
        var tag = (long)((ulong)hash >> HashTagShift);
        for (var i = 0; i < EntriesPerBucket; i++)
        {
            var word = bucket[i];
            if (word != 0 && (word & TentativeBit) == 0 && ((word >> EntryTagShift) & TagMask) == tag)
            {
                return word & AddressMask;
            }
        }

        return 0;
    }

    private static FieldInfo? FindField(Type? type, string name)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly) is { } field)
            {
                return field;
            }
        }

        return null;
    }
}
