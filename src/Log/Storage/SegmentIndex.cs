using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// A sparse index of a segment, kept in its memory-mapped file as Kafka keeps it: <c>.index</c> entries are
/// (relative offset int32, file position int32), <c>.timeindex</c> entries (timestamp int64, relative offset int32),
/// big-endian. Keys only grow. The file is preallocated to <see cref="Capacity"/> entries, so adding one is two
/// stores into the mapping and nothing on the managed heap (the in-memory entries this replaced cost 12 B each,
/// one per 16 KiB batch, kept for the segment's life); it is trimmed to its entries when the segment is sealed or
/// closed. After a crash the file holds its entries, then zeros (or a torn entry: see <see cref="Open"/>).
/// One writer (the partition's flusher) and lock-free readers: the writer stores an entry before it raises the
/// count, so a reader that reads the count first sees whole entries. Readers hold the mapping for the length of
/// a lookup, so a segment closed under them fails the lookup rather than unmapping what it reads.
/// </summary>
internal sealed unsafe class SegmentIndex : IDisposable
{
    /// <summary>The most bytes an index takes, Kafka's <c>segment.index.bytes</c> default; a full index rolls the segment.</summary>
    public const int MaxBytes = 10 << 20;

    private readonly bool _isTime;
    private readonly int _entrySize;
    private readonly SafeFileHandle _file;
    private readonly Action<SafeFileHandle, long> _preallocate;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private int _capacity;
    private int _count;
    private long _lastKey = long.MinValue;

    private SegmentIndex(string path, bool isTime, SafeFileHandle file, Action<SafeFileHandle, long> preallocate)
    {
        Path = path;
        _isTime = isTime;
        _entrySize = isTime ? 12 : 8;
        _file = file;
        _preallocate = preallocate;
    }

    public string Path { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>How many entries the mapping holds; the writer adds none past it.</summary>
    public int Capacity => _capacity;

    /// <summary>The last entry's key, <see cref="long.MinValue"/> if none: the writer's, kept so that adding a time entry reads no mapping.</summary>
    public long LastKey => _lastKey;

    /// <summary>
    /// Opens (or creates) an index file and maps it with room for at least <paramref name="capacity"/> entries
    /// (preallocated). <paramref name="valid"/> is false if the file was missing or is not whole, ordered entries
    /// followed by nothing but zeros (the preallocated tail an unclean stop leaves); a torn or damaged entry makes
    /// it false too, and the index starts empty, for recovery to rebuild.
    /// If <c>reopen</c> (the segment existed before) and the preallocation fails (a full disk), the index is mapped
    /// as the file is, with no room past it, rather than failing the start: a full index rolls the segment, and that
    /// roll fails the append cleanly with <see cref="LogError.StorageError"/>. A clean close cuts the active
    /// segment's indexes to their entries, so without this every start on a full disk would fail.
    /// </summary>
    /// <exception cref="IOException">The preallocation failed (a full disk) for an index that is not <paramref name="reopen"/>ed; the file is left as it was.</exception>
    public static SegmentIndex Open(string path, bool isTime, out bool valid, int capacity = MaxBytes / 12,
        Action<SafeFileHandle, long>? preallocate = null, bool reopen = false)
    {
        var existed = File.Exists(path);
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var index = new SegmentIndex(path, isTime, file, preallocate ?? Preallocation.Reserve);
        try
        {
            var length = RandomAccess.GetLength(file);
            var whole = length % index._entrySize == 0 && length <= MaxBytes;
            if (!whole)
            {
                RandomAccess.SetLength(file, 0); // not entries: nothing in it is worth keeping, recovery rebuilds it
                length = 0;
            }

            index.Map(index.Grow(Math.Max(capacity, (int)(length / index._entrySize)), orAsItIs: reopen));
            valid = existed && whole && index.Load(length);
            if (!valid)
            {
                index.Wipe(length);
            }

            return index;
        }
        catch
        {
            index.Unmap();
            file.Dispose();
            throw;
        }
    }

    public long KeyAt(int i)
    {
        var view = Acquire(i, out var entries);
        try
        {
            return Key(Entry(entries, i));
        }
        finally
        {
            view.ReleasePointer();
        }
    }

    public int ValueAt(int i)
    {
        var view = Acquire(i, out var entries);
        try
        {
            return Value(Entry(entries, i));
        }
        finally
        {
            view.ReleasePointer();
        }
    }

    /// <summary>The last entry whose key is at most <paramref name="key"/> (or below it, if <paramref name="strictlyBelow"/>); -1 if none.</summary>
    public int Floor(long key, bool strictlyBelow = false)
    {
        var count = Volatile.Read(ref _count);
        if (count == 0)
        {
            return -1;
        }

        var view = Acquire(count - 1, out var entries);
        try
        {
            int lo = 0, hi = count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                var midKey = Key(Entry(entries, mid));
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
        finally
        {
            view.ReleasePointer();
        }
    }

    /// <summary>Adds an entry (the writer's alone); the caller checks <see cref="Capacity"/> first.</summary>
    public void Add(long key, int value)
    {
        var count = _count;
        if (count >= _capacity)
        {
            throw new InvalidOperationException($"{Path} is full at {_capacity} entries.");
        }

        var entry = Entry(_base, count);
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

        _lastKey = key;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Drops entries from <paramref name="count"/> on, zeroing them, so a crash does not bring them back.</summary>
    public void TruncateTo(int count)
    {
        var old = _count;
        if (count >= old)
        {
            return;
        }

        Volatile.Write(ref _count, count);
        _lastKey = count == 0 ? long.MinValue : Key(Entry(_base, count - 1));
        new Span<byte>(_base + ((long)count * _entrySize), (old - count) * _entrySize).Clear();
    }

    public void Clear() => TruncateTo(0);

    /// <summary>Zeros the first <paramref name="length"/> bytes of the file, whatever they held, and empties the index.</summary>
    private void Wipe(long length)
    {
        _count = 0;
        _lastKey = long.MinValue;
        new Span<byte>(_base, (int)length).Clear();
    }

    /// <summary>
    /// Makes room for at least <paramref name="capacity"/> entries, remapping. Only while no reader can hold the
    /// mapping: recovery, before the partition is open. On a full disk the index keeps the room it has: recovery's
    /// rebuild skips entries past it (a sparser index finds the same batches).
    /// </summary>
    public void Reserve(int capacity)
    {
        if (capacity > _capacity)
        {
            var bytes = Grow(capacity, orAsItIs: true);
            if (bytes / _entrySize > _capacity)
            {
                Map(bytes);
            }
        }
    }

    /// <summary>
    /// Cuts the file to its entries (a sealed segment's index takes no more): no entry is added after this. The
    /// mapping stays for readers, who read only below the count; Linux allows a mapping past the end of its file,
    /// elsewhere the file is cut when it is closed.
    /// </summary>
    public void Trim()
    {
        _capacity = _count;
        if (OperatingSystem.IsLinux())
        {
            RandomAccess.SetLength(_file, (long)_count * _entrySize);
        }
    }

    /// <summary>Makes the entries durable: the mapping's dirty pages (msync), then the file's metadata.</summary>
    public void Sync()
    {
        _view?.Flush();
        RandomAccess.FlushToDisk(_file);
    }

    /// <summary>Unmaps and closes the file, cut to its entries (a clean close leaves no preallocated tail).</summary>
    public void Dispose()
    {
        if (_view is null || _file.IsClosed)
        {
            _file.Dispose();
            return;
        }

        Unmap();
        try
        {
            RandomAccess.SetLength(_file, (long)_count * _entrySize);
        }
        finally
        {
            _file.Dispose();
        }
    }

    private static long ReadKey(ReadOnlySpan<byte> entry, bool isTime) =>
        isTime ? BinaryPrimitives.ReadInt64BigEndian(entry) : BinaryPrimitives.ReadInt32BigEndian(entry);

    private long Key(Span<byte> entry) => ReadKey(entry, _isTime);

    private int Value(Span<byte> entry) => BinaryPrimitives.ReadInt32BigEndian(entry[(_isTime ? 8 : 4)..]);

    private Span<byte> Entry(byte* entries, int i) => new(entries + ((long)i * _entrySize), _entrySize);

    /// <summary>
    /// Holds the mapping for a lookup of entries up to <paramref name="last"/>, which must be below the count, and
    /// gives the address of its entries. The address comes from the held handle, never from <c>_base</c>: a segment
    /// closed under a reader nulls that and unmaps once the last holder lets go, so a reader that read it after the
    /// close would dereference null plus an offset. A lookup on a closed index fails with
    /// <see cref="ObjectDisposedException"/>, as a read of its closed log file does.
    /// </summary>
    private SafeMemoryMappedViewHandle Acquire(int last, out byte* entries)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)last, (uint)Volatile.Read(ref _count), nameof(last));
        var view = Volatile.Read(ref _view) ?? throw new ObjectDisposedException(Path);
        var handle = view.SafeMemoryMappedViewHandle;
        byte* pointer = null;
        handle.AcquirePointer(ref pointer); // ObjectDisposedException if the close got there first
        entries = pointer + view.PointerOffset;
        return handle;
    }

    /// <summary>
    /// Preallocates the file for <paramref name="capacity"/> entries and returns its length; if that fails and
    /// <paramref name="orAsItIs"/>, the length it has (the preallocation leaves it as it was).
    /// </summary>
    private long Grow(int capacity, bool orAsItIs)
    {
        var length = RandomAccess.GetLength(_file);
        var bytes = Math.Max((long)capacity * _entrySize, length);
        try
        {
            _preallocate(_file, bytes);
            return bytes;
        }
        catch (IOException) when (orAsItIs)
        {
            return length;
        }
    }

    /// <summary>Maps the first <paramref name="bytes"/> of the file, already that long.</summary>
    private void Map(long bytes)
    {
        Unmap();
        _capacity = (int)(bytes / _entrySize);
        if (bytes == 0)
        {
            return; // nothing to map (an empty closed segment's index); the count stays 0
        }

        _map = MemoryMappedFile.CreateFromFile(_file, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    private void Unmap()
    {
        if (_view is null)
        {
            return;
        }

        // Forgotten before they are released: a throw later in Map (whose Unmap this is) must not make the caller's
        // cleanup release them again, which would throw and hide the first error.
        var view = _view;
        var map = _map;
        _base = null;
        Volatile.Write(ref _view, null);
        _map = null;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map!.Dispose();
    }

    /// <summary>
    /// Counts the entries at the start of the first <paramref name="length"/> bytes: whole, ordered, not all zeros.
    /// False if anything but zeros follows them (a torn or damaged entry).
    /// </summary>
    private bool Load(long length)
    {
        var end = (int)(length / _entrySize);
        var count = 0;
        long lastKey = 0;
        var lastValue = 0;
        for (; count < end; count++)
        {
            var entry = Entry(_base, count);
            var key = Key(entry);
            var value = Value(entry);
            var ordered = count == 0 || (key > lastKey && (_isTime ? value >= lastValue : value > lastValue));
            if (!ordered || value < 0 || !entry.ContainsAnyExcept((byte)0))
            {
                break;
            }

            (lastKey, lastValue) = (key, value);
        }

        _count = count;
        _lastKey = count == 0 ? long.MinValue : lastKey;
        return !new ReadOnlySpan<byte>(_base + ((long)count * _entrySize), (int)length - (count * _entrySize)).ContainsAnyExcept((byte)0);
    }
}
