using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// Starts the disk writing a file range now rather than at the next fsync: <c>sync_file_range(fd, offset,
/// length, SYNC_FILE_RANGE_WRITE)</c>, as RocksDB's <c>bytes_per_sync</c> and PostgreSQL's
/// <c>backend_flush_after</c> do. A durable writer otherwise leaves the disk idle while it writes a group and
/// then waits for the whole group in fsync; started early, the disk works while more data arrives and the
/// fsync finds little left. It is only a start: nothing is durable, and nothing is acknowledged, before the
/// fsync. Does nothing off Linux.
/// </summary>
/// <remarks>
/// Only <c>SYNC_FILE_RANGE_WRITE</c>, never the <c>WAIT</c> flags: waiting would consume the file's writeback
/// error cursor (errseq), and the fsync that decides durability might then not see an error the wait saw
/// (PostgreSQL's "fsyncgate"). Without them a writeback error stays for the fsync to report.
/// </remarks>
internal static partial class Writeback
{
    private const uint SyncFileRangeWrite = 2;
    private const int Eintr = 4;
    private const int Enomem = 12;
    private const int Einval = 22;
    private const int Espipe = 29;
    private const int Enosys = 38;
    private const int Eopnotsupp = 95;

    /// <summary>
    /// Starts writeback of [<paramref name="offset"/>, offset + <paramref name="length"/>). A file system that
    /// does not support it makes this a no-op; an I/O error (EIO, ENOSPC, EDQUOT, ...) throws
    /// <see cref="IOException"/>, so the writer cuts the run back and fails its appends as it does after a failed
    /// write, rather than write on as if the disk were fine (the error also stays recorded for the fsync, see
    /// remarks: failing here only fails sooner).
    /// </summary>
    public static void Start(SafeFileHandle file, long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        if (SyncFileRange(file, offset, length, SyncFileRangeWrite) == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno is Eintr or Enomem or Einval or Espipe or Enosys or Eopnotsupp)
        {
            return; // interrupted, short of memory or unsupported: a hint not taken; the fsync still writes everything
        }

        throw new IOException($"sync_file_range at {offset} for {length}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long length, uint flags);
}
