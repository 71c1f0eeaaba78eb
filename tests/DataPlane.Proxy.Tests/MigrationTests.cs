using System.Net;
using System.Text.Json;
using DataPlane.Proxy.Handoff;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>Live migration of established connections between real `dataplane proxy` processes (`--handoff-connections`).</summary>
public sealed class MigrationTests
{
    private const int Connections = 6;
    private const long Progress = 256 * 1024;
    private const string AskedToStop = "connections to stop at their quiet points";

    [Fact]
    public async Task ThreeLiveMigrations_StreamsArriveIntactAndInOrder_OldProcessesExitZeroWhileTheyGoOn()
    {
        await using var load = new StreamingLoad();
        var path = SocketPath();
        var processes = new List<DataplaneProcess>();
        try
        {
            var arguments = Arguments(load.UpstreamAddress, path);
            var current = new DataplaneProcess(arguments);
            processes.Add(current);
            var listen = await current.Listening;
            await load.StartAsync(listen, Connections);
            await load.WaitForProgressAsync(Progress);

            for (var migration = 1; migration <= 3; migration++)
            {
                load.SlowReaderHurries = false;
                await load.WaitForProgressAsync(Progress);
                var next = new DataplaneProcess(arguments);
                processes.Add(next);
                var listening = next.Listening;
                await HurrySlowReaderOnceAskedAsync(load, current, 1, listening);
                Assert.Equal(listen, await listening);
                Assert.Contains($"took over the listeners of process {current.Id} and {Connections} connections", next.Output);

                // The old process exits at once (nothing left to drain), and the streams go on through the new one.
                Assert.Equal(0, await current.WaitForExitAsync());
                Assert.Contains($"handed over to process {next.Id}", current.Output);
                await load.WaitForProgressAsync(Progress);
                Assert.True(load.Errors.Length == 0, $"migration {migration}: {load.Errors}\n--- old:\n{current.Output}\n--- new:\n{next.Output}");
                current = next;
            }

            var problems = await load.StopAsync();
            Assert.True(problems.Length == 0, $"{problems}\n--- last process:\n{current.Output}");
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            File.Delete(path);
        }
    }

    [Fact]
    public async Task NewProcessDiesBeforeReady_OldKeepsCopyingTheStoppedConnections_NothingLost()
    {
        await using var load = new StreamingLoad();
        var path = SocketPath();
        try
        {
            var arguments = Arguments(load.UpstreamAddress, path);
            await using var old = new DataplaneProcess(arguments);
            var listen = await old.Listening;
            await load.StartAsync(listen, Connections);
            await load.WaitForProgressAsync(Progress);

            // A "new process" that receives the listeners and every stopped pair, then dies before READY:
            // its handoff socket and its copies of the descriptors close.
            using (var dying = HandoffClient.TryConnect(path, Loopback.Timeout))
            {
                Assert.NotNull(dying);
                dying.ReceiveListeners().ForEach(l => l.Socket.Dispose());
                var receiving = Task.Run(() => dying.ReceiveConnections([new IPEndPoint(IPAddress.Loopback, 0)]));
                await HurrySlowReaderOnceAskedAsync(load, old, 1, receiving);
                var pairs = await receiving.WaitAsync(Loopback.Timeout);
                Assert.True(pairs.Count == Connections, $"expected {Connections} pairs, got {pairs.Count}\n--- old:\n{old.Output}");
                Assert.Single(pairs, p => p.ClientEnded && !p.UpstreamEnded);
                pairs.ForEach(p => p.Close());
            }

            await Eventually.True(() => old.Output.Contains("rolled back", StringComparison.Ordinal), "the old process rolls back", Loopback.Timeout);
            load.SlowReaderHurries = false;
            await load.WaitForProgressAsync(Progress);
            Assert.True(load.Errors.Length == 0, $"{load.Errors}\n--- old:\n{old.Output}");

            // The same connections still migrate to a real process afterwards.
            await using var next = new DataplaneProcess(arguments);
            var listening = next.Listening;
            await HurrySlowReaderOnceAskedAsync(load, old, 2, listening);
            Assert.Equal(listen, await listening);
            Assert.Equal(0, await old.WaitForExitAsync());
            await load.WaitForProgressAsync(Progress);

            var problems = await load.StopAsync();
            Assert.True(problems.Length == 0, $"{problems}\n--- old:\n{old.Output}\n--- new:\n{next.Output}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task MigratedConnections_CountAgainstTheirUpstreams_LeastConnectionsSeesThem()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        var path = SocketPath();
        var clients = new List<System.Net.Sockets.Socket>();
        try
        {
            string[] arguments = ["--listen", "127.0.0.1:0", "--upstream", a.Address, "--upstream", b.Address, "--policy", "least-conn",
                "--admin", "127.0.0.1:0", "--handoff-socket", path, "--handoff-connections", "--handoff-timeout", "10s"];
            await using var old = new DataplaneProcess(arguments);
            var listen = await old.Listening;
            for (var i = 0; i < 3; i++)
            {
                clients.Add(await EchoedAsync(listen, old));
            }

            var before = await ActiveAsync(await old.Admin);
            Assert.Equal(3, before.Values.Sum());

            await using var next = new DataplaneProcess(arguments);
            Assert.Equal(listen, await next.Listening);
            Assert.Equal(0, await old.WaitForExitAsync());
            Assert.Equal(before, await ActiveAsync(await next.Admin));

            // The fourth goes to the upstream with fewer: the migrated ones count in the new process.
            clients.Add(await EchoedAsync(listen, next));
            var after = await ActiveAsync(await next.Admin);
            Assert.Equal([2, 2], after.Values.Order());
            foreach (var client in clients)
            {
                await Loopback.SendAllAsync(client, "pong"u8.ToArray());
                Assert.Equal("pong"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            File.Delete(path);
        }
    }

    /// <summary>
    /// Waits until <paramref name="old"/> asked its pairs to stop for the <paramref name="nth"/> time (or
    /// the handoff ended without), then lets the load's slow reader drain: the pair stopped with a pending
    /// send, and reaches its quiet point within the quiet budget however loaded the machine is (StreamingLoad).
    /// </summary>
    private static async Task HurrySlowReaderOnceAskedAsync(StreamingLoad load, DataplaneProcess old, int nth, Task handoff)
    {
        await Eventually.True(
            () => handoff.IsCompleted || old.Output.Split(AskedToStop).Length > nth,
            $"the old process asks its pairs to stop (time {nth})",
            Loopback.Timeout);
        load.SlowReaderHurries = true;
    }

    /// <summary>A connection through the proxy that echoed once; when it fails, the failure carries the proxy's output.</summary>
    private static async Task<System.Net.Sockets.Socket> EchoedAsync(IPEndPoint listen, DataplaneProcess proxy)
    {
        var client = await Loopback.ConnectAsync(listen);
        try
        {
            await Loopback.SendAllAsync(client, "ping"u8.ToArray());
            Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
            return client;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            client.Dispose();
            throw new InvalidOperationException($"echo through the proxy failed: {e.Message}\n--- proxy:\n{proxy.Output}", e);
        }
    }

    private static async Task<Dictionary<string, long>> ActiveAsync(IPEndPoint admin)
    {
        var (code, output) = await Curl.GetAsync($"http://{admin}/upstreams");
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        return json.RootElement[0].GetProperty("upstreams").EnumerateArray()
            .ToDictionary(u => u.GetProperty("address").GetString()!, u => u.GetProperty("active").GetInt64());
    }

    private static string[] Arguments(string upstream, string path) =>
        ["--listen", "127.0.0.1:0", "--upstream", upstream, "--handoff-socket", path, "--handoff-connections", "--drain-timeout", "20s", "--handoff-timeout", "10s"];

    private static string SocketPath() => Path.Combine(Path.GetTempPath(), $"dp-migrate-{Guid.NewGuid():N}.sock");
}
