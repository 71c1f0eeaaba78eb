using System.Text;
using DataPlane.Log.Producer;

namespace DataPlane.Log.Tests;

public class Murmur2Tests
{
    /// <summary>The vectors of Kafka's own <c>UtilsTest.testMurmur2</c> (clients module).</summary>
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Hash_MatchesKafkaUtilsMurmur2(string key, int expected) =>
        Assert.Equal(expected, Murmur2Partitioner.Hash(Encoding.UTF8.GetBytes(key)));

    /// <summary>Kafka's placement is <c>toPositive(murmur2(key)) % partitions</c>, toPositive masking the sign bit.</summary>
    [Theory]
    [InlineData("21", 10, 0)]
    [InlineData("foobar", 10, 6)]
    [InlineData("foobar", 3, 0)]
    [InlineData("abc", 7, 4)]
    [InlineData("a-little-bit-longer-string", 12, 11)]
    public void Partition_IsMurmur2MaskedPositiveModuloCount(string key, int partitions, int expected)
    {
        var hash = Murmur2Partitioner.Hash(Encoding.UTF8.GetBytes(key));
        Assert.Equal((hash & 0x7FFFFFFF) % partitions, expected);
        Assert.Equal(expected, Murmur2Partitioner.Partition(Encoding.UTF8.GetBytes(key), partitions));
    }
}
