namespace DataPlane.Proxy.Balancing;

/// <summary><see cref="Random.Shared"/>: thread-safe, no lock, no allocation.</summary>
internal sealed class SharedRandomSource : IRandomSource
{
    public static SharedRandomSource Instance { get; } = new();

    public int Next(int maxExclusive) => Random.Shared.Next(maxExclusive);
}
