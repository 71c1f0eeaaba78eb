using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// A sparse index of a segment in memory and in its file, in Kafka's layouts: <c>.index</c> entries are
/// (relative offset int32, file position int32), <c>.timeindex</c> entries (timestamp int64, relative offset int32),
/// big-endian. Keys only grow. One writer (the partition's flusher) and lock-free readers: the writer publishes
/// a grown array before it raises the count, so a reader that reads the count first sees enough entries.
/// Entries live in fixed chunks that are never copied or replaced: an index that grew by doubling one array
/// allocated about twice its size over its life (24 B per entry, one entry per append of a 16 KiB batch).
/// </summary>
internal sealed class SegmentIndex : IDisposable
{
    private readonly bool _isTime;
    private readonly SafeFileHandle _file;
    /// <summary>Entries per chunk: a chunk's arrays (32 KiB and 16 KiB) stay below the large object heap.</summary>
    private const int ChunkShift = 12;
    private const int ChunkMask = (1 << ChunkShift) - 1;

    /// <summary>The first chunk is small, so the many indexes of small or idle segments stay small.</summary>
    private const int FirstChunkEntries = 64;

    /// <summary>
    /// Entries per write when persisting (3 KiB on the stack): a 4 MiB group of 16 KiB batches adds 256, which so
    /// take one write, where 32 a write took several per group on the writer's path.
    /// </summary>
    private const int PersistEntries = 256;

    private Chunk[] _chunks = new Chunk[4];
    private int _count;
    private int _persisted;

    private SegmentIndex(string path, bool isTime, SafeFileHandle file)
    {
        Path = path;
        _isTime = isTime;
        _file = file;
    }

    public string Path { get; }

    public int Count => Volatile.Read(ref _count);

    private int EntrySize => _isTime ? 12 : 8;

    /// <summary>Opens (or creates) an index file; false if it was missing or is not a whole number of ordered entries.</summary>
    public static SegmentIndex Open(string path, bool isTime, out bool valid)
    {
        var existed = File.Exists(path);
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var index = new SegmentIndex(path, isTime, file);
        valid = existed && index.Load();
        if (!valid)
        {
            index.Clear();
        }

        return index;
    }

    public long KeyAt(int i) => Volatile.Read(ref _chunks)[i >> ChunkShift].Keys[i & ChunkMask];

    public int ValueAt(int i) => Volatile.Read(ref _chunks)[i >> ChunkShift].Values[i & ChunkMask];

    public long LastKey => _count == 0 ? long.MinValue : KeyAt(_count - 1);

    /// <summary>The last entry whose key is at most <paramref name="key"/> (or below it, if <paramref name="strictlyBelow"/>); -1 if none.</summary>
    public int Floor(long key, bool strictlyBelow = false)
    {
        var count = Volatile.Read(ref _count);
        var chunks = Volatile.Read(ref _chunks);
        int lo = 0, hi = count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var midKey = chunks[mid >> ChunkShift].Keys[mid & ChunkMask];
            if (midKey < key || (!strictlyBelow && midKey == key))
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    public void Add(long key, int value)
    {
        var count = _count;
        var chunks = _chunks;
        var c = count >> ChunkShift;
        var slot = count & ChunkMask;
        if (c == chunks.Length)
        {
            Array.Resize(ref chunks, c * 2);
            Volatile.Write(ref _chunks, chunks);
        }

        ref var chunk = ref chunks[c];
        if (chunk.Keys is null || slot == chunk.Keys.Length)
        {
            // Readers index the published arrays by the count, which is raised only after the entry is in place.
            var entries = c == 0 && slot < FirstChunkEntries ? FirstChunkEntries : 1 << ChunkShift;
            var grown = new Chunk(new long[entries], new int[entries]);
            chunk.Keys?.AsSpan().CopyTo(grown.Keys);
            chunk.Values?.AsSpan().CopyTo(grown.Values);
            chunk = grown;
        }

        chunk.Keys[slot] = key;
        chunk.Values[slot] = value;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Drops entries from <paramref name="count"/> on, in memory and in the file.</summary>
    public void TruncateTo(int count)
    {
        if (count >= _count)
        {
            return;
        }

        Volatile.Write(ref _count, count);
        _persisted = Math.Min(_persisted, count);
        RandomAccess.SetLength(_file, (long)_persisted * EntrySize);
    }

    public void Clear() => TruncateTo(0);

    /// <summary>Appends the entries added since the last call to the file (no fsync: recovery checks indexes).</summary>
    public void Persist()
    {
        var pending = _count - _persisted;
        if (pending == 0)
        {
            return;
        }

        var entry = EntrySize;
        Span<byte> buffer = stackalloc byte[12 * PersistEntries];
        while (_persisted < _count)
        {
            var n = Math.Min(_count - _persisted, PersistEntries);
            for (var i = 0; i < n; i++)
            {
                Encode(buffer.Slice(i * entry, entry), KeyAt(_persisted + i), ValueAt(_persisted + i));
            }

            RandomAccess.Write(_file, buffer[..(n * entry)], (long)_persisted * entry);
            _persisted += n;
        }
    }

    public void Sync() => RandomAccess.FlushToDisk(_file);

    public void Dispose() => _file.Dispose();

    private void Encode(Span<byte> entry, long key, int value)
    {
        if (_isTime)
        {
            BinaryPrimitives.WriteInt64BigEndian(entry, key);
            BinaryPrimitives.WriteInt32BigEndian(entry[8..], value);
        }
        else
        {
            BinaryPrimitives.WriteInt32BigEndian(entry, (int)key);
            BinaryPrimitives.WriteInt32BigEndian(entry[4..], value);
        }
    }

    private bool Load()
    {
        var length = RandomAccess.GetLength(_file);
        if (length % EntrySize != 0 || length > int.MaxValue)
        {
            return false;
        }

        var bytes = new byte[length];
        if (length > 0 && RandomAccess.Read(_file, bytes, 0) != length)
        {
            return false;
        }

        for (var p = 0; p < bytes.Length; p += EntrySize)
        {
            var e = bytes.AsSpan(p, EntrySize);
            var key = _isTime ? BinaryPrimitives.ReadInt64BigEndian(e) : BinaryPrimitives.ReadInt32BigEndian(e);
            var value = BinaryPrimitives.ReadInt32BigEndian(e[(_isTime ? 8 : 4)..]);
            if ((_count > 0 && (key <= LastKey || (!_isTime && value <= ValueAt(_count - 1)))) || value < 0)
            {
                return false;
            }

            Add(key, value);
        }

        _persisted = _count;
        return true;
    }

    /// <summary>One chunk's entries: keys and values in two arrays (12 B an entry, where a struct array would pad to 16).</summary>
    private readonly record struct Chunk(long[] Keys, int[] Values);
}
