using DataPlane.Testing;

namespace DataPlane.Ring.Tests;

public class ReadmeSampleTests
{
    [Fact]
    public void ReadmeRingSample_RunsAndMatchesTheReadme()
    {
        #region readme-ring
        var ring = new HashRing<string>(new RingOptions { VirtualNodes = 150 });
        ring.Add("10.0.0.1:6379");
        ring.Add("10.0.0.2:6379");
        ring.Add("10.0.0.3:6379", weight: 2); // twice the tokens, twice the keys

        var owner = ring.GetOwner("user:42"); // no lock, no allocation
        Span<string> replicas = new string[2];
        var count = ring.GetReplicas("user:42", 2, replicas); // the preference list

        var before = ring.Current;
        var after = ring.Add("10.0.0.4:6379");
        foreach (var change in HashRing.Diff(before, after)) // what a rebalance moves
        {
            Console.WriteLine($"{change.Range}: {string.Join(",", change.Before)} -> {string.Join(",", change.After)}");
        }
        #endregion

        Assert.Equal(owner, replicas[0]);
        Assert.Equal(2, count);
        Assert.Equal(Readme.Region("ring"), Readme.Snippet("ring"));
    }
}
