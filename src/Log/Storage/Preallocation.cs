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
    /// blocks reserved. A file system without fallocate (or a system other than Linux) gets a plain length change.
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
            RandomAccess.SetLength(file, length);
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
                RandomAccess.SetLength(file, length);
                return;
            }

            // fallocate may have reserved part of the range before it failed; the length says what the file holds.
            RandomAccess.SetLength(file, before);
            throw new IOException($"fallocate of {length} bytes: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);
}
