using System.Text;
using DataPlane.Net.IO;

namespace DataPlane.Store.Durability;

/// <summary>
/// The data directory's <c>LOCK</c> file, held open with an exclusive lock while a server uses the
/// directory, as Kafka's <c>.lock</c> and RocksDB's <c>LOCK</c> are: a second process on the same
/// directory (a node started twice, a single node on a cluster node's data) recovered its keys and,
/// stopping, checkpointed and deleted the write-ahead log the first was still appending to, so writes
/// the first then acknowledged were gone after its crash. The lock is flock(2)'s (what .NET takes for
/// <see cref="FileShare.None"/> on Unix), so the kernel lets it go when the process dies, killed or not.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "LOCK";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    /// <summary>Takes the directory (created if missing) for this process.</summary>
    /// <exception cref="InvalidOperationException">Another process holds it.</exception>
    public static DataDirectoryLock Acquire(string directory)
    {
        DurableFile.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new InvalidOperationException($"The data directory '{directory}' is in use by another process (its pid is in {path}); refusing to start.", e);
        }

        // The holder's pid, for whoever reads the file (the lock, not this text, keeps a second process out).
        file.SetLength(0);
        file.Write(Encoding.ASCII.GetBytes($"pid {Environment.ProcessId}\n"));
        file.Flush();
        return new DataDirectoryLock(file);
    }

    public void Dispose() => _file.Dispose();
}
