namespace DataPlane.Proxy.Balancing;

/// <summary>Where the randomized balancers get their numbers (tests pass a scripted one).</summary>
internal interface IRandomSource
{
    /// <summary>A number in [0, <paramref name="maxExclusive"/>); thread-safe.</summary>
    int Next(int maxExclusive);
}
