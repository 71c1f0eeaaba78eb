using System.Net;
using System.Net.Sockets;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Balancing;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Tests;

/// <summary>
/// A connection adopted from another process (a live migration) ends as a new one does: through the
/// same pooled run, so the host hears of its close, its end, and of anything its release threw.
/// </summary>
public sealed class AdoptionTests
{
    [Theory]
    [InlineData(ProxyTransport.Sockets)]
    [InlineData(ProxyTransport.Epoll)]
    public async Task Adopted_CopiesBothWaysAndEnds_ClosedThenReturnedToTheHost(ProxyTransport transport)
    {
        var host = new Host(throwOnClosed: false);
        await using var ends = await AdoptAsync(host, transport);

        await ends.CloseBothAsync();
        await host.Returned.Task.WaitAsync(Loopback.Timeout);
        Assert.Equal(1, host.Closed);
        Assert.False(host.Unexpected.Task.IsCompleted);
    }

    [Theory]
    [InlineData(ProxyTransport.Sockets)]
    [InlineData(ProxyTransport.Epoll)]
    public async Task Adopted_ReleaseThrows_TheHostHearsOfIt_AndTheInstanceIsNotReturned(ProxyTransport transport)
    {
        var host = new Host(throwOnClosed: true);
        await using var ends = await AdoptAsync(host, transport);

        // Its release fails before it closes the sockets: the client's FIN is not passed on.
        await ends.CloseBothAsync(expectClientEnd: false);
        var error = await host.Unexpected.Task.WaitAsync(Loopback.Timeout);
        Assert.Equal(Host.ClosedFailure, error.Message);

        // Half released, the instance is not pooled.
        Assert.False(host.Returned.Task.IsCompleted);
    }

    /// <summary>
    /// Two loopback pairs whose inner ends a connection adopts as a migration hands them over (non-blocking
    /// descriptors no epoll of this process has seen), with a byte through it each way.
    /// </summary>
    private static async Task<Ends> AdoptAsync(Host host, ProxyTransport transport)
    {
        var (client, clientInner) = Pair();
        var (upstreamInner, upstreamOuter) = Pair();
        var options = new ProxyOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Upstreams = [new UpstreamOptions(upstreamOuter.LocalEndPoint!.ToString()!)],
            Transport = transport,
        };
        host.Cluster = new UpstreamCluster(options, TimeProvider.System, SharedRandomSource.Instance);
        var upstream = new Upstream(options.Upstreams[0].Address, (IPEndPoint)upstreamOuter.LocalEndPoint!, 1, TimeProvider.System);
        upstream.OnConnecting();
        var connection = new ProxyConnection(host, options, 0);
        host.Connection = connection;
        connection.StartAdopted(clientInner, upstreamInner, upstream, clientEnded: false, upstreamEnded: false, TimeSpan.FromSeconds(1));

        var ends = new Ends(client, upstreamOuter, connection);
        await Loopback.SendAllAsync(client, "u"u8.ToArray());
        Assert.Equal("u"u8.ToArray(), await Loopback.ReadExactlyAsync(upstreamOuter, 1));
        await Loopback.SendAllAsync(upstreamOuter, "c"u8.ToArray());
        Assert.Equal("c"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 1));
        return ends;
    }

    /// <summary>A connected loopback pair; the second end's descriptor is non-blocking, as a migrated one is.</summary>
    private static (Socket Outer, Socket Inner) Pair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var outer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        outer.Connect(listener.LocalEndPoint!);
        var inner = listener.Accept();
        Assert.Equal(0, EpollNative.SetNonBlocking((int)inner.Handle));
        return (outer, inner);
    }

    private sealed class Ends(Socket client, Socket upstream, ProxyConnection connection) : IAsyncDisposable
    {
        /// <summary>Both outer ends send their FIN; the upstream sees the client's come through, and the client the upstream's when expected.</summary>
        public async Task CloseBothAsync(bool expectClientEnd = true)
        {
            client.Shutdown(SocketShutdown.Send);
            Assert.Empty(await Loopback.ReadToEndAsync(upstream));
            upstream.Shutdown(SocketShutdown.Send);
            if (expectClientEnd)
            {
                Assert.Empty(await Loopback.ReadToEndAsync(client));
            }
        }

        public ValueTask DisposeAsync()
        {
            client.Dispose();
            upstream.Dispose();
            connection.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Host(bool throwOnClosed) : IConnectionHost
    {
        public const string ClosedFailure = "recording the close failed";

        private int _closed;

        public TimeProvider Time => TimeProvider.System;

        public UpstreamCluster Cluster { get; set; } = null!;

        public ProxyConnection? Connection { get; set; }

        public int Closed => Volatile.Read(ref _closed);

        public TaskCompletionSource Returned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<Exception> Unexpected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnConnected(Upstream upstream, TimeSpan latency)
        {
        }

        public void OnConnectFailed(Upstream upstream, ConnectFailure cause, HealthChange change)
        {
        }

        public void OnNoUpstream()
        {
        }

        public void OnClosed(Upstream upstream, TimeSpan duration)
        {
            Interlocked.Increment(ref _closed);
            if (throwOnClosed)
            {
                throw new InvalidOperationException(ClosedFailure);
            }
        }

        public void OnUnexpected(Exception error) => Unexpected.TrySetResult(error);

        public void OnOutOfResources(int errno)
        {
        }

        public void Return(ProxyConnection connection)
        {
            Assert.Same(Connection, connection);
            Returned.TrySetResult();
        }
    }
}
