using DataPlane.Store.Durability;

namespace DataPlane.Store.Tests;

/// <summary>The directory fsync that makes a new write-ahead log segment's name outlive a crash.</summary>
public sealed class DirectorySyncTests
{
    [Fact]
    public void Flush_OfAnExistingDirectory_Succeeds_AndOfAMissingOne_IsAnIOException()
    {
        var directory = Directory.CreateTempSubdirectory("dataplane-dirsync-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(directory, "wal-1.log"), [1, 2, 3]);
            DirectorySync.Flush(directory);
            var missing = Path.Combine(directory, "missing");
            var error = Assert.Throws<IOException>(() => DirectorySync.Flush(missing));
            Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
