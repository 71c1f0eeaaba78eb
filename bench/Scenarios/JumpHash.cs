namespace DataPlane.Bench.Scenarios;

/// <summary>Jump consistent hash (Lamping and Veach, 2014): the baseline a ring lookup is compared with.</summary>
internal static class JumpHash
{
    public static int Bucket(ulong key, int buckets)
    {
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = unchecked((key * 2862933555777941757UL) + 1);
            j = (long)((b + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }

        return (int)b;
    }
}
