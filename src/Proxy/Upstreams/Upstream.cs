using System.Net;
using DataPlane.Proxy.Health;

namespace DataPlane.Proxy.Upstreams;

/// <summary>
/// One upstream and everything the data path keeps about it: counters (updated with interlocked
/// operations, read by metrics and <c>/upstreams</c>), connect latency EWMA, health, ejection and
/// breaker state. The object survives reconfigurations that keep its address, so its state does too.
/// </summary>
internal sealed partial class Upstream
{
    private readonly TimeProvider _time;
    private readonly long[] _failures = new long[Enum.GetValues<ConnectFailure>().Length];
    private long _active;
    private long _total;
    private long _bytesToUpstream;
    private long _bytesToClient;

    public Upstream(string address, IPEndPoint endPoint, double weight, TimeProvider time)
    {
        Address = address;
        EndPoint = endPoint;
        SocketAddress = endPoint.Serialize();
        Weight = weight;
        _time = time;
        Breaker = new CircuitBreaker(time);
        _slowStartSince = time.GetTimestamp();
    }

    /// <summary><c>HOST:PORT</c> as configured.</summary>
    public string Address { get; }

    public IPEndPoint EndPoint { get; }

    /// <summary>The endpoint as the native <c>sockaddr</c> a connect takes, built once.</summary>
    public SocketAddress SocketAddress { get; }

    /// <summary>Share relative to weight 1; replaced when a reconfiguration changes it.</summary>
    public double Weight { get; set; }

    public CircuitBreaker Breaker { get; }

    /// <summary>Connections open to this upstream now (connecting included).</summary>
    public long Active => Volatile.Read(ref _active);

    /// <summary>Connections ever established to this upstream.</summary>
    public long Total => Volatile.Read(ref _total);

    public long BytesToUpstream => Volatile.Read(ref _bytesToUpstream);

    public long BytesToClient => Volatile.Read(ref _bytesToClient);

    public long Failures(ConnectFailure cause) => Volatile.Read(ref _failures[(int)cause]);

    public void OnConnecting() => Interlocked.Increment(ref _active);

    public void OnEstablished() => Interlocked.Increment(ref _total);

    public void OnReleased() => Interlocked.Decrement(ref _active);

    public void CountFailure(ConnectFailure cause) => Interlocked.Increment(ref _failures[(int)cause]);

    public void AddBytesToUpstream(int bytes) => Interlocked.Add(ref _bytesToUpstream, bytes);

    public void AddBytesToClient(int bytes) => Interlocked.Add(ref _bytesToClient, bytes);

    /// <summary>The cumulative counters, in the order <see cref="AddCarried"/> takes them (what a handoff carries over).</summary>
    public long[] Counters() => [Total, BytesToUpstream, BytesToClient, .. _failures.Select(f => Volatile.Read(ref f))];

    /// <summary>Adds counters carried over from the process this one took over from.</summary>
    public void AddCarried(ReadOnlySpan<long> counters)
    {
        Interlocked.Add(ref _total, counters[0]);
        Interlocked.Add(ref _bytesToUpstream, counters[1]);
        Interlocked.Add(ref _bytesToClient, counters[2]);
        for (var i = 0; i < _failures.Length && i + 3 < counters.Length; i++)
        {
            Interlocked.Add(ref _failures[i], counters[i + 3]);
        }
    }

    public override string ToString() => Address;
}
