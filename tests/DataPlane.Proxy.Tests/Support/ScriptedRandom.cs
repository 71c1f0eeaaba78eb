using DataPlane.Proxy.Balancing;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>Returns scripted numbers in turn (each taken modulo the bound asked for).</summary>
internal sealed class ScriptedRandom(params int[] values) : IRandomSource
{
    private int _next;

    public int Next(int maxExclusive) => values[_next++ % values.Length] % maxExclusive;
}
