using DataPlane.Net.IO;

namespace DataPlane.Store.Tests;

/// <summary>
/// The directory fsync that makes a new file's name outlive a crash (write-ahead log and log segments,
/// hint files), and the replace-by-rename the node id, membership and topic catalog are written with.
/// </summary>
public sealed class DurableFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dataplane-durable-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void SyncDirectory_OfAnExistingDirectory_Succeeds_AndOfAMissingOne_IsAnIOException()
    {
        File.WriteAllBytes(Path.Combine(_directory, "wal-1.log"), [1, 2, 3]);
        DurableFile.SyncDirectory(_directory);
        var missing = Path.Combine(_directory, "missing");
        var error = Assert.Throws<IOException>(() => DurableFile.SyncDirectory(missing));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_LeavesTheNewContentsWhole_AndNoTemporaryFile()
    {
        var path = Path.Combine(_directory, "membership");
        DurableFile.Replace(path, "first"u8);
        DurableFile.Replace(path, "second, longer"u8);
        Assert.Equal("second, longer"u8.ToArray(), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    [Fact]
    public void CreateDirectory_MakesEveryMissingLevel_AndAcceptsOneThatExists()
    {
        var nested = Path.Combine(_directory, "data", "topic-0");
        DurableFile.CreateDirectory(nested);
        Assert.True(Directory.Exists(nested));
        DurableFile.CreateDirectory(nested);
        Assert.True(Directory.Exists(nested));
    }
}
