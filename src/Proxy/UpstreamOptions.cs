namespace DataPlane.Proxy;

/// <summary>One upstream of a listener's cluster.</summary>
public sealed record UpstreamOptions
{
    /// <summary>Creates an upstream entry.</summary>
    /// <param name="address"><c>HOST:PORT</c>; a host name is resolved when the configuration is applied.</param>
    /// <param name="weight">Its share relative to weight 1 (least-conn, p2c, p2c-ewma and ring-hash honour it).</param>
    public UpstreamOptions(string address, double weight = 1.0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (!(weight > 0) || double.IsInfinity(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "An upstream's weight must be a positive finite number.");
        }

        Address = address;
        Weight = weight;
    }

    /// <summary><c>HOST:PORT</c> as configured; also the upstream's name in metrics and <c>/upstreams</c>.</summary>
    public string Address { get; }

    /// <summary>The upstream's share relative to weight 1.</summary>
    public double Weight { get; }
}
