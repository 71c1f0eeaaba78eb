using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log;

/// <summary>
/// A range of a segment file holding whole record batches, possibly followed by a partial one when the read's
/// byte budget ends inside a batch (Kafka's fetch semantics; <see cref="Records.RecordBatchReader"/> ignores it).
/// The bytes are read from the file on copy, so a broker can send them without decoding. A slice stays readable
/// for <see cref="CommitLogOptions.FileDeleteDelay"/> after retention deletes its segment.
/// </summary>
public readonly struct FileSlice
{
    internal FileSlice(SafeFileHandle file, long position, int length)
    {
        File = file;
        Position = position;
        Length = length;
    }

    /// <summary>The slice's size in bytes.</summary>
    public int Length { get; }

    internal SafeFileHandle? File { get; }

    internal long Position { get; }

    /// <summary>Copies the slice into <paramref name="destination"/>, which must hold <see cref="Length"/> bytes.</summary>
    /// <param name="destination">Where the bytes go.</param>
    /// <returns>The bytes copied: <see cref="Length"/>.</returns>
    public int CopyTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        var done = 0;
        while (done < Length)
        {
            var read = RandomAccess.Read(File!, destination[done..Length], Position + done);
            if (read == 0)
            {
                throw new IOException("The segment file ended inside a slice that was whole when it was read.");
            }

            done += read;
        }

        return done;
    }

    /// <summary>Copies the slice into a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }
}
