using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Security.Cryptography;
using DataPlane.Proxy.Metrics;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>The forwarding behaviours, run on each transport by a derived class.</summary>
public abstract class ForwardingTests
{
    private protected abstract ProxyTransport Transport { get; }

    private ProxyOptions Options(params string[] upstreams) => Loopback.Options(upstreams) with { Transport = Transport };

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65_537)]
    [InlineData(1024 * 1024)]
    [InlineData(10 * 1024 * 1024)]
    public async Task Forward_BytesArriveIntactBothWays(int size)
    {
        var upload = RandomNumberGenerator.GetBytes(size);
        var download = RandomNumberGenerator.GetBytes(size);

        // The upstream reads to the client's FIN, answers with the SHA-256 of what it got, then the download.
        await using var upstream = new TestUpstream(async socket =>
        {
            var received = await Loopback.ReadToEndAsync(socket);
            await Loopback.SendAllAsync(socket, SHA256.HashData(received));
            await Loopback.SendAllAsync(socket, download);
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);

        var reading = Loopback.ReadToEndAsync(client);
        await Loopback.SendAllAsync(client, upload);
        client.Shutdown(SocketShutdown.Send);
        var reply = await reading;

        Assert.Equal(32 + size, reply.Length);
        Assert.Equal(SHA256.HashData(upload), reply[..32]);
        Assert.Equal(SHA256.HashData(download), SHA256.HashData(reply.AsSpan(32)));
    }

    [Fact]
    public async Task SequentialConnections_ReuseThePooledConnectionObjects()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));

        for (var i = 0; i < 20; i++)
        {
            using (var client = await Loopback.ConnectAsync(proxy.LocalEndPoint))
            {
                await Loopback.SendAllAsync(client, "ping"u8.ToArray());
                client.Shutdown(SocketShutdown.Send);
                Assert.Equal("ping"u8.ToArray(), await Loopback.ReadToEndAsync(client));
            }

            await Eventually.True(() => proxy.ActiveConnections == 0, "the connection was returned");
        }

        // One object per loop's pool, and a spare for a connection accepted before the last one was
        // back in its pool; never one per connection.
        Assert.InRange(proxy.CreatedConnections, 1, (2 * Environment.ProcessorCount) + 1);
    }

    [Fact]
    public async Task HalfClose_ClientFinFirst_UpstreamStillAnswers()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);

        await Loopback.SendAllAsync(client, "ping"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("ping"u8.ToArray(), await Loopback.ReadToEndAsync(client));
    }

    [Fact]
    public async Task HalfClose_UpstreamFinFirst_ClientCanStillSend()
    {
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new TestUpstream(async socket =>
        {
            await Loopback.SendAllAsync(socket, "hello"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
            got.TrySetResult(await Loopback.ReadToEndAsync(socket));
        });
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);

        Assert.Equal("hello"u8.ToArray(), await Loopback.ReadToEndAsync(client));
        await Loopback.SendAllAsync(client, "bye"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("bye"u8.ToArray(), await got.Task.WaitAsync(Loopback.Timeout));
    }

    [Fact]
    public async Task Reset_FromClient_ReachesTheUpstreamAsAReset()
    {
        var upstreamSaw = new TaskCompletionSource<SocketError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new TestUpstream(async socket =>
        {
            connected.TrySetResult();
            var buffer = new byte[1024];
            try
            {
                while (await socket.ReceiveAsync(buffer) > 0)
                {
                }

                upstreamSaw.TrySetResult(SocketError.Success);
            }
            catch (SocketException e)
            {
                upstreamSaw.TrySetResult(e.SocketErrorCode);
            }
        });
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));
        var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(client, "x"u8.ToArray());
        await connected.Task.WaitAsync(Loopback.Timeout);

        client.LingerState = new LingerOption(true, 0);
        client.Dispose();

        Assert.Equal(SocketError.ConnectionReset, await upstreamSaw.Task.WaitAsync(Loopback.Timeout));
    }

    [Fact]
    public async Task Retry_SkipsAnUpstreamThatIsDown()
    {
        await using var live = TestUpstream.Echo();
        var options = Options(Loopback.ClosedAddress(), live.Address) with { BreakerFailures = 1000, EjectionFailures = 1000 };
        await using var proxy = await Loopback.StartAsync(options);

        for (var i = 0; i < 6; i++)
        {
            using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
            await Loopback.SendAllAsync(client, "abc"u8.ToArray());
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal("abc"u8.ToArray(), await Loopback.ReadToEndAsync(client));
        }

        Assert.Equal(6, live.Accepted);
        Assert.True(proxy.Cluster.Set.Items[0].Failures(Upstreams.ConnectFailure.Refused) >= 3);
    }

    [Fact]
    public async Task AllUpstreamsDown_ClientIsClosedPromptly()
    {
        await using var proxy = await Loopback.StartAsync(Options(Loopback.ClosedAddress(), Loopback.ClosedAddress()));
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);

        Assert.True(await Loopback.ClosedByPeerAsync(client), "the proxy should close the client when no upstream answers");
        await Eventually.True(() => proxy.NoUpstream == 1, "the refusal is counted");
    }

    [Fact]
    public async Task IdleTimeout_ClosesAConnectionOnWhichNothingMoves()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address) with { IdleTimeout = TimeSpan.FromMilliseconds(200) });
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);

        Assert.True(await Loopback.ClosedByPeerAsync(client));
        await Eventually.True(() => proxy.ActiveConnections == 0, "the idle connection is gone");
    }

    [Fact]
    public async Task IdleTimeout_CountsTheConnectionsItCloses_NotTheActiveOnes()
    {
        var clock = TestUpstreams.Clock();
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyServer(Options(upstream.Address) with { IdleTimeout = TimeSpan.FromMinutes(1) }, null, clock);
        await proxy.StartAsync();
        using var idle = await EchoedOnceAsync(proxy);
        clock.Advance(TimeSpan.FromSeconds(30));
        using var active = await EchoedOnceAsync(proxy);

        // The sweep runs on the clock's timer: the first connection has been idle 61 s, the second 31 s.
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.True(await Loopback.ClosedByPeerAsync(idle), "the idle connection is closed");
        await Loopback.SendAllAsync(active, "pong"u8.ToArray());
        Assert.Equal("pong"u8.ToArray(), await Loopback.ReadExactlyAsync(active, 4));
        Assert.Equal(1, proxy.IdleClosed);
        Assert.Equal(1, ObservedForListener("connections.idle_closed", proxy.Name));
    }

    [Fact]
    public async Task IdleSweep_RunningWhileClientsArrive_ClosesNoneOfThem()
    {
        // The fake clock steps as fast as it can and every step runs the idle sweep; nothing here is idle
        // for a century. A connection the sweep could see before its idle clock started looked idle since
        // the clock's zero and was reset (seen as "Connection reset by peer" on a first echo under load).
        const int Clients = 200;
        var clock = TestUpstreams.Clock();
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyServer(Options(upstream.Address) with { IdleTimeout = TimeSpan.FromDays(36_500) }, null, clock);
        await proxy.StartAsync();
        using var stop = new CancellationTokenSource();
        var sweeping = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
            }
        });
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
                try
                {
                    await Loopback.SendAllAsync(client, "ping"u8.ToArray());
                    Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
                }
                catch (Exception e) when (e is SocketException or EndOfStreamException)
                {
                    Assert.Fail($"client {i}: {e.Message}");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await sweeping;
        }
    }

    [Fact]
    public async Task UpstreamThatStopsReading_DoesNotAffectOtherConnections()
    {
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silent = new TestUpstream(async _ => await stalled.Task);
        await using var echo = TestUpstream.Echo();
        await using var proxy = await Loopback.StartAsync(Options(silent.Address, echo.Address));

        // The first connection goes to the upstream that never reads: fill it until back-pressure stops us.
        using var stuck = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        var flooding = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    await stuck.SendAsync(chunk);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed at the end of the test.
            }
        });

        using var other = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(other, "still fine"u8.ToArray());
        other.Shutdown(SocketShutdown.Send);
        Assert.Equal("still fine"u8.ToArray(), await Loopback.ReadToEndAsync(other));

        stalled.TrySetResult();
        stuck.Dispose();
        await flooding.WaitAsync(Loopback.Timeout);
    }

    [Fact]
    public async Task Stop_DrainsThenClosesWhatIsStillOpenAtTheDeadline()
    {
        await using var upstream = TestUpstream.Echo();
        var proxy = await Loopback.StartAsync(Options(upstream.Address) with { DrainTimeout = TimeSpan.FromMilliseconds(300) });
        using var open = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(open, "x"u8.ToArray());
        Assert.Equal("x"u8.ToArray(), await Loopback.ReadExactlyAsync(open, 1));

        await proxy.DisposeAsync().AsTask().WaitAsync(Loopback.Timeout);

        Assert.Equal(0, proxy.ActiveConnections);
        Assert.True(await Loopback.ClosedByPeerAsync(open));
        await Assert.ThrowsAsync<SocketException>(() => Loopback.ConnectAsync(proxy.LocalEndPoint));
    }

    [Fact]
    public async Task ConnectTimeout_AnUpstreamThatHangsOnConnect_IsLeftForTheNext()
    {
        // A listener that never accepts, its queue filled: further SYNs are dropped and connects hang.
        using var hanging = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        hanging.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        hanging.Listen(0);
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 1; i++)
            {
                fillers.Add(await Loopback.ConnectAsync((System.Net.IPEndPoint)hanging.LocalEndPoint!));
            }

            await using var live = TestUpstream.Echo();
            var options = Options(hanging.LocalEndPoint!.ToString()!, live.Address) with
            {
                ConnectTimeout = TimeSpan.FromMilliseconds(300),
                BreakerFailures = 1000,
                EjectionFailures = 1000,
            };
            await using var proxy = await Loopback.StartAsync(options);

            using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
            await Loopback.SendAllAsync(client, "late"u8.ToArray());
            client.Shutdown(SocketShutdown.Send);

            Assert.Equal("late"u8.ToArray(), await Loopback.ReadToEndAsync(client));
            Assert.Equal(1, proxy.Cluster.Set.Items[0].Failures(Upstreams.ConnectFailure.Timeout));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task Reset_FromUpstreamMidStream_ReachesTheClientAndIsCounted()
    {
        await using var upstream = new TestUpstream(async socket =>
        {
            await Loopback.ReadExactlyAsync(socket, 1);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        await using var proxy = await Loopback.StartAsync(Options(upstream.Address));
        using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(client, "x"u8.ToArray());

        var error = await Assert.ThrowsAsync<SocketException>(() => Loopback.ReadToEndAsync(client));

        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        await Eventually.True(() => proxy.Cluster.Set.Items[0].Failures(Upstreams.ConnectFailure.Reset) == 1, "the reset is counted");
    }

    private static async Task<Socket> EchoedOnceAsync(ProxyServer proxy)
    {
        var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
        await Loopback.SendAllAsync(client, "ping"u8.ToArray());
        Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
        return client;
    }

    /// <summary>What an observable instrument of the proxy's meter reports now for one listener (-1: nothing).</summary>
    private static long ObservedForListener(string instrument, string listener)
    {
        long value = -1;
        using var meters = new MeterListener();
        meters.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == ProxyMetrics.MeterName && i.Name == instrument)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "listener" && Equals(tag.Value, listener))
                {
                    value = measurement;
                }
            }
        });
        meters.Start();
        meters.RecordObservableInstruments();
        return value;
    }
}
