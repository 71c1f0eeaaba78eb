using System.Text;

namespace DataPlane.Ring.Tests;

internal static class RingTestData
{
    public static HashRing<string> Ring(int nodes, int virtualNodes = 150)
    {
        var ring = new HashRing<string>(new RingOptions { VirtualNodes = virtualNodes });
        for (var i = 0; i < nodes; i++)
        {
            ring.Add($"node-{i}");
        }

        return ring;
    }

    public static byte[][] Keys(int count, int seed = 1)
    {
        var random = new Random(seed);
        var keys = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            keys[i] = Encoding.UTF8.GetBytes($"key-{random.Next()}-{i}");
        }

        return keys;
    }
}
