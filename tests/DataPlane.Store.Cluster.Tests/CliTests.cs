using DataPlane.Testing;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>The <c>dataplane store</c> cluster flags, through the real executable.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task QuorumLargerThanReplicas_IsRefusedAtStart()
    {
        using var node = await DataplaneChild.RunToExitAsync(
            "store",
            ["--node-id", "a", "--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--peers", "b=127.0.0.1:1,c=127.0.0.1:2",
             "--data", Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N")), "--replicas", "3", "--write-quorum", "4"]);
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("write quorum (W) must be between 1 and N=3, got 4", node.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterFlagsWithoutANodeId_AreRefusedAtStart()
    {
        // Without --node-id the store would start as a single node, the cluster it was told of ignored.
        using var node = await DataplaneChild.RunToExitAsync(
            "store",
            ["--listen", "127.0.0.1:0", "--peers", "b=127.0.0.1:1", "--replicas", "2",
             "--data", Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N"))]);
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("--peers, --replicas need --node-id", node.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASuspicionShorterThanAHeartbeat_AndAPeerAtThisNodesOwnAddress_AreRefusedAtStart()
    {
        using var node = await DataplaneChild.RunToExitAsync(
            "store",
            ["--node-id", "a", "--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:17999", "--peers", "b=127.0.0.1:17999",
             "--replicas", "2", "--suspect-after", "10ms", "--heartbeat-interval", "1s",
             "--data", Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N"))]);
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("must be longer than the heartbeat interval", node.Output, StringComparison.Ordinal);
        Assert.Contains("peer 'b' has this node's own peer address 127.0.0.1:17999", node.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataDirectoryOfAnotherNode_IsRefusedAtStart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N"));
        try
        {
            NodeIdentity.Claim(directory, "a");
            using var node = await DataplaneChild.RunToExitAsync(
            "store",
                ["--node-id", "b", "--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--peers", "a=127.0.0.1:1",
                 "--data", directory, "--replicas", "2", "--read-quorum", "1", "--write-quorum", "1"]);
            Assert.Equal(1, node.ExitCode);
            Assert.Contains("belongs to node 'a', not 'b'", node.Output, StringComparison.Ordinal);
            Assert.Contains("warning: R=1 + W=1 <= N=2", node.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
