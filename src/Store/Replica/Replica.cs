using System.Numerics;
using DataPlane.Net.IO;
using DataPlane.Store.Durability;
using FASTER.core;

namespace DataPlane.Store.Replica;

/// <summary>
/// One node's copy of the data: FASTER KV with versioned values, a write-ahead log and checkpoints.
/// Every change goes through one merge rule (apply only if newer) so that local commands, replication,
/// hinted handoff and anti-entropy agree. FASTER sessions are single-threaded: each connection (and
/// the maintenance loop) works through its own <see cref="ReplicaSession"/>.
/// </summary>
internal sealed partial class Replica : IDisposable
{
    /// <summary>FASTER keeps a record inside one page: 32 MiB pages bound the largest value.</summary>
    public const int PageSizeBits = 25;

    /// <summary>The largest payload a value may have (a page less room for the key and headers).</summary>
    public const int MaxValueLength = (1 << PageSizeBits) - (64 * 1024);

    private readonly IDevice _device;
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private readonly WriteAheadLog _wal;
    private long _keys;
    private long _expiring;

    /// <summary>Applied writes a sweep may one day reclaim (tombstones, values with an expiry).</summary>
    private long _sweepable;

    /// <summary>The <see cref="_sweepable"/> count at the start of the last sweep that found none in memory; -1 before that.</summary>
    private long _sweptClean = -1;

    public Replica(ReplicaSettings settings)
    {
        Settings = settings;
        Clock = new HybridLogicalClock(settings.Time);
        DurableFile.CreateDirectory(settings.Directory);
        _device = Devices.CreateLogDevice(Path.Combine(settings.Directory, "hlog.log"), preallocateFile: false, deleteOnClose: false, recoverDevice: true);
        var memoryBits = Math.Max(PageSizeBits + 1, 63 - BitOperations.LeadingZeroCount((ulong)Math.Max(settings.MaxMemory, 1L << 26)));
        Store = new FasterKV<SpanByte, SpanByte>(
            settings.IndexBuckets,
            new LogSettings { LogDevice = _device, PageSizeBits = PageSizeBits, MemorySizeBits = memoryBits, SegmentSizeBits = 30 },
            new CheckpointSettings { CheckpointDir = CheckpointDirectory, RemoveOutdated = true });
        _wal = Recover();

        // After recovery, which may replace the index with one of the checkpoint's size.
        Prefetch = FasterPrefetch.For(Store);
    }

    public ReplicaSettings Settings { get; }

    public HybridLogicalClock Clock { get; }

    /// <summary>Keys that hold a value (expired ones count until they are reclaimed, as in Redis's DBSIZE).</summary>
    public long KeyCount => Volatile.Read(ref _keys);

    /// <summary>Keys among <see cref="KeyCount"/> that have an expiry.</summary>
    public long ExpiringCount => Volatile.Read(ref _expiring);

    /// <summary>When the last checkpoint completed (Unix seconds), 0 before the first.</summary>
    public long LastCheckpointUnixSeconds { get; private set; }

    public WriteAheadLog Wal => _wal;

    internal FasterKV<SpanByte, SpanByte> Store { get; }

    /// <summary>Prefetch for a batch of keys known ahead; null where FASTER's internals are not as expected.</summary>
    internal FasterPrefetch? Prefetch { get; }

    internal ReplicaFunctions Functions { get; } = new();

    internal SessionVariableLengthStructSettings<SpanByte, SpanByte> Lengths { get; } = new() { valueLength = new MergeLengths() };

    private string CheckpointDirectory => Path.Combine(Settings.Directory, "checkpoints");

    public ReplicaSession NewSession() => new(this);

    /// <summary>Every live record once, newest version (FASTER skips its own deleted records).</summary>
    internal IFasterScanIterator<SpanByte, SpanByte> IterateLive() => Store.Iterate<SpanByte, ReplicaOutput, Empty, ReplicaFunctions>(Functions);

    /// <summary>The key locks every write takes (by the key's <see cref="Ring.RingHash"/>).</summary>
    internal KeyStripes Stripes { get; } = new();

    internal void Count(in ReplicaOutput output, bool live, bool expiring)
    {
        if (output.Outcome != MergeOutcome.Applied)
        {
            return;
        }

        if (!live || expiring)
        {
            Interlocked.Increment(ref _sweepable);
        }

        var keys = (live ? 1 : 0) - (output.ReplacedLive ? 1 : 0);
        var exp = (expiring ? 1 : 0) - (output.ReplacedExpiring ? 1 : 0);
        if (keys != 0)
        {
            Interlocked.Add(ref _keys, keys);
        }

        if (exp != 0)
        {
            Interlocked.Add(ref _expiring, exp);
        }
    }

    internal void Uncount(bool expiring)
    {
        Interlocked.Decrement(ref _keys);
        if (expiring)
        {
            Interlocked.Decrement(ref _expiring);
        }
    }

    public void Dispose()
    {
        _wal.Dispose();
        Store.Dispose();
        _device.Dispose();
        _checkpointGate.Dispose();
    }
}
