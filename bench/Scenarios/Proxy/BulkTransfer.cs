using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>Bulk throughput: one connection sends a fixed amount to a sink that discards it.</summary>
internal sealed class BulkTransfer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Thread _sink;

    public BulkTransfer()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _sink = new Thread(Sink) { IsBackground = true, Name = "bulk sink" };
        _sink.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Gbit/s for <paramref name="bytes"/> sent through <paramref name="port"/> (the sink's own port: direct).</summary>
    public static double Measure(int port, long bytes)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var chunk = new byte[256 * 1024];
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < bytes;)
        {
            sent += client.Send(chunk);
        }

        // The sink answers one byte after the FIN: every byte has crossed.
        client.Shutdown(SocketShutdown.Send);
        var ack = new byte[1];
        client.Receive(ack);
        return bytes * 8 / clock.Elapsed.TotalSeconds / 1e9;
    }

    public void Dispose() => _listener.Dispose();

    private void Sink()
    {
        var buffer = new byte[256 * 1024];
        while (true)
        {
            Socket s;
            try
            {
                s = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (s)
            {
                try
                {
                    while (s.Receive(buffer) > 0)
                    {
                    }

                    s.Send(buffer.AsSpan(0, 1));
                }
                catch (SocketException)
                {
                    // A connection that died (a proxy's health probe): next one.
                }
            }
        }
    }
}
