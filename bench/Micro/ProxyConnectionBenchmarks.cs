using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using DataPlane.Proxy;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The proxy's data path in process, against an echo upstream: a 64-byte round trip on a kept-alive
/// connection, and a whole connection (connect, round trip, close), each directly and through the
/// proxy. The allocated column is what the proxy adds per request and per connection (run it with
/// --inProcess so the proxy's threads are in the measured process).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProxyConnectionBenchmarks
{
    private const int RoundTrips = 200;
    private readonly byte[] _request = new byte[64];
    private readonly byte[] _reply = new byte[64];
    private Socket _echo = null!;
    private ProxyServer _proxy = null!;
    private Socket _directClient = null!;
    private Socket _proxiedClient = null!;
    private IPEndPoint _echoEndPoint = null!;

    [GlobalSetup]
    public void Setup()
    {
        _echo = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _echo.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _echo.Listen(1024);
        _echoEndPoint = (IPEndPoint)_echo.LocalEndPoint!;
        new Thread(Echo) { IsBackground = true }.Start();

        _proxy = new ProxyServer(new ProxyOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Upstreams = [new UpstreamOptions(_echoEndPoint.ToString())],
        });
        _proxy.StartAsync().GetAwaiter().GetResult();
        _directClient = Connect(_echoEndPoint);
        _proxiedClient = Connect(_proxy.LocalEndPoint);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _directClient.Dispose();
        _proxiedClient.Dispose();
        _proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _echo.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    [BenchmarkCategory("round trip")]
    public void DirectRoundTrip() => RoundTripMany(_directClient);

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    [BenchmarkCategory("round trip")]
    public void ProxiedRoundTrip() => RoundTripMany(_proxiedClient);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("connection")]
    public void DirectConnection() => OneConnection(_echoEndPoint);

    [Benchmark]
    [BenchmarkCategory("connection")]
    public void ProxiedConnection() => OneConnection(_proxy.LocalEndPoint);

    private static Socket Connect(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(endPoint);
        return socket;
    }

    private void RoundTripMany(Socket client)
    {
        for (var i = 0; i < RoundTrips; i++)
        {
            RoundTrip(client);
        }
    }

    private void RoundTrip(Socket client)
    {
        client.Send(_request);
        for (var got = 0; got < _reply.Length;)
        {
            got += client.Receive(_reply.AsSpan(got));
        }
    }

    private void OneConnection(IPEndPoint endPoint)
    {
        using var client = Connect(endPoint);
        RoundTrip(client);
        client.Shutdown(SocketShutdown.Send);
        while (client.Receive(_reply) > 0)
        {
        }
    }

    private void Echo()
    {
        while (true)
        {
            Socket s;
            try
            {
                s = _echo.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            new Thread(() =>
            {
                using (s)
                {
                    var buffer = new byte[4096];
                    try
                    {
                        int n;
                        while ((n = s.Receive(buffer)) > 0)
                        {
                            s.Send(buffer.AsSpan(0, n));
                        }

                        s.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                        // The client went away.
                    }
                }
            }) { IsBackground = true }.Start();
        }
    }
}
