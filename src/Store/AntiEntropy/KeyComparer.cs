namespace DataPlane.Store.AntiEntropy;

/// <summary>Keys as byte arrays compared by content (XXH64 for the hash code).</summary>
internal sealed class KeyComparer : IEqualityComparer<byte[]>
{
    public static KeyComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => (int)Ring.RingHash.Hash(obj);
}
