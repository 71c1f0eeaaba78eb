using System.Buffers.Binary;

namespace DataPlane.Store.Hints;

/// <summary>
/// Reads a hint file a record at a time into one buffer reused for every record: a node down for long
/// leaves a file of millions of hints, which must be neither held in memory at once nor cost an
/// allocation each when they are delivered. <see cref="Key"/> and <see cref="Stored"/> are valid
/// until the next <see cref="TryRead"/>.
/// </summary>
internal sealed class HintReader : IDisposable
{
    private readonly FileStream _file;
    private readonly byte[] _header = new byte[HintRecord.HeaderSize];
    private byte[] _body = new byte[1024];
    private int _length;
    private int _keyLength;

    public HintReader(string path) =>
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024);

    public ReadOnlySpan<byte> Key => _body.AsSpan(4, _keyLength);

    public ReadOnlySpan<byte> Stored => _body.AsSpan(4 + _keyLength, _length - 4 - _keyLength);

    /// <summary>Every whole, intact record of the file at <paramref name="path"/>.</summary>
    public static long Count(string path)
    {
        using var reader = new HintReader(path);
        var count = 0L;
        while (reader.TryRead())
        {
            count++;
        }

        return count;
    }

    /// <summary>Reads the next record; false at the end of the file or at a torn or corrupt record, which ends it.</summary>
    public bool TryRead()
    {
        if (_file.ReadAtLeast(_header, HintRecord.HeaderSize, throwOnEndOfStream: false) < HintRecord.HeaderSize)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        if (length < HintRecord.MinBodySize || length > Array.MaxLength || (length > _body.Length && length > _file.Length - _file.Position))
        {
            // A corrupt length is refused before a buffer of its size (the file's length is asked only when the buffer must grow).
            return false;
        }

        if (length > _body.Length)
        {
            _body = new byte[Math.Min(Math.Max(length, _body.Length * 2L), Array.MaxLength)];
        }

        var body = _body.AsSpan(0, (int)length);
        if (_file.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            return false;
        }

        var keyLength = BinaryPrimitives.ReadUInt32LittleEndian(body);
        if (Durability.Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4)) || keyLength > length - HintRecord.MinBodySize)
        {
            return false;
        }

        _length = (int)length;
        _keyLength = (int)keyLength;
        return true;
    }

    public void Dispose() => _file.Dispose();
}
