using System.Runtime.InteropServices;

namespace DataPlane.Store.Durability;

/// <summary>
/// fsync of a directory: a file just created survives a crash only once the directory entry that
/// names it is on disk too, which fsyncing the file alone does not promise (POSIX, and ext4 without
/// its auto_da_alloc heuristics). .NET cannot open a directory as a stream, so this goes to libc.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>Makes the entries of <paramref name="directory"/> durable; does nothing where there is no POSIX fsync.</summary>
    /// <exception cref="IOException">The directory cannot be opened or the fsync failed.</exception>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to fsync it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
