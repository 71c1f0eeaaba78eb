using DataPlane.Testing;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>The <c>dataplane store</c> cluster flags, through the real executable.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task QuorumLargerThanReplicas_IsRefusedAtStart()
    {
        var output = await RefusedAsync(2, NewDirectory(), "--node-id", "a", "--peer-listen", "127.0.0.1:0", "--peers", "b=127.0.0.1:1,c=127.0.0.1:2", "--replicas", "3", "--write-quorum", "4");
        Assert.Contains("write quorum (W) must be between 1 and N=3, got 4", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterFlagsWithoutANodeId_AreRefusedAtStart()
    {
        // Without --node-id the store would start as a single node, the cluster it was told of ignored.
        var output = await RefusedAsync(2, NewDirectory(), "--peers", "b=127.0.0.1:1", "--replicas", "2");
        Assert.Contains("--peers, --replicas need --node-id", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASuspicionShorterThanAHeartbeat_AndAPeerAtThisNodesOwnAddress_AreRefusedAtStart()
    {
        var output = await RefusedAsync(
            2, NewDirectory(), "--node-id", "a", "--peer-listen", "127.0.0.1:17999", "--peers", "b=127.0.0.1:17999", "--replicas", "2", "--suspect-after", "10ms", "--heartbeat-interval", "1s");
        Assert.Contains("must be longer than the heartbeat interval", output, StringComparison.Ordinal);
        Assert.Contains("peer 'b' has this node's own peer address 127.0.0.1:17999", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataDirectoryOfAnotherNode_IsRefusedAtStart()
    {
        var directory = NewDirectory();
        try
        {
            NodeIdentity.Claim(directory, "a");
            var output = await RefusedAsync(1, directory, "--node-id", "b", "--peer-listen", "127.0.0.1:0", "--peers", "a=127.0.0.1:1", "--replicas", "2", "--read-quorum", "1", "--write-quorum", "1");
            Assert.Contains("belongs to node 'a', not 'b'", output, StringComparison.Ordinal);
            Assert.Contains("warning: R=1 + W=1 <= N=2", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A data directory path nothing has made (a start refused at its flags never makes it).</summary>
    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N"));

    /// <summary>Runs <c>dataplane store --listen 127.0.0.1:0 --data DIRECTORY</c> with <paramref name="flags"/>, which must refuse to start with <paramref name="exitCode"/>; its output.</summary>
    private static async Task<string> RefusedAsync(int exitCode, string directory, params string[] flags)
    {
        using var node = await DataplaneChild.RunToExitAsync("store", ["--listen", "127.0.0.1:0", "--data", directory, .. flags]);
        Assert.Equal(exitCode, node.ExitCode);
        return node.Output;
    }
}
