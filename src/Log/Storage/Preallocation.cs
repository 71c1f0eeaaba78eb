using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// Grows a file to a length with its blocks reserved: <c>fallocate(fd, 0, 0, length)</c>. A memory-mapped index
/// is written by storing to its pages, and a store to a page whose block the file system cannot allocate (a hole
/// in a sparse file on a full disk) raises SIGBUS, which ends the process; with the blocks reserved up front, a
/// full disk fails here, as an <see cref="IOException"/> the caller can report, and never at a store.
/// </summary>
internal static partial class Preallocation
{
    private const int Eintr = 4;
    private const int Enosys = 38;
    private const int Eopnotsupp = 95;

    /// <summary>
    /// Makes <paramref name="file"/> at least <paramref name="length"/> bytes long, the new bytes zeros with their
    /// blocks reserved. A file system without fallocate (or a system other than Linux) gets the zeros written, as
    /// glibc's posix_fallocate does: a plain length change would leave a sparse file, and the SIGBUS with it.
    /// </summary>
    /// <exception cref="IOException">No space (ENOSPC, EDQUOT) or another I/O error; the file's length is unchanged.</exception>
    public static void Reserve(SafeFileHandle file, long length)
    {
        var before = RandomAccess.GetLength(file);
        if (length <= before)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            WriteZeros(file, before, length);
            return;
        }

        while (Fallocate(file, 0, 0, length) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Eintr)
            {
                continue;
            }

            if (errno is Enosys or Eopnotsupp)
            {
                WriteZeros(file, before, length);
                return;
            }

            // fallocate may have reserved part of the range before it failed; the length says what the file holds.
            RandomAccess.SetLength(file, before);
            throw new IOException($"fallocate of {length} bytes: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
    }

    /// <summary>Writes zeros over [<paramref name="from"/>, <paramref name="to"/>); on failure the file is cut back to <paramref name="from"/>.</summary>
    private static void WriteZeros(SafeFileHandle file, long from, long to)
    {
        // Rare (a file system without fallocate) and at most an index's 10 MiB: a 64 KiB buffer for the call is fine.
        var zeros = new byte[(int)Math.Min(to - from, 64 * 1024)];
        try
        {
            for (var at = from; at < to; at += zeros.Length)
            {
                RandomAccess.Write(file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, to - at)), at);
            }
        }
        catch
        {
            RandomAccess.SetLength(file, from);
            throw;
        }
    }

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);
}
