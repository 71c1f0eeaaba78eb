using DataPlane.Proxy.Handoff;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>Listener handoff between real `dataplane proxy` processes under load, and its rollback.</summary>
public sealed class HandoffTests
{
    private static readonly TimeSpan NewConnectionPeriod = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task ThreeHandoffsInARow_UnderLoad_NothingRefusedResetOrCorrupted_AndOldProcessesExitZero()
    {
        await using var upstream = TestUpstream.Echo();
        var path = SocketPath();
        var processes = new List<DataplaneProcess>();
        try
        {
            var arguments = Arguments(upstream.Address, path);
            var current = new DataplaneProcess(arguments);
            processes.Add(current);
            var listen = await current.Listening;
            await using var load = new HandoffLoad(listen, persistent: 8, requestsPerConnection: 20, NewConnectionPeriod);
            await WaitForProgressAsync(load, 200);

            for (var handoff = 1; handoff <= 3; handoff++)
            {
                var next = new DataplaneProcess(arguments);
                processes.Add(next);
                var taken = await next.Listening;
                Assert.True(listen.Equals(taken), $"handoff {handoff}: the new process listens on {taken}, not {listen}:\n{next.Output}\n--- old:\n{current.Output}");
                Assert.Contains($"took over the listeners of process {current.Id}", next.Output);

                // The old process drains: its connections end (the clients reconnect, to the new one), it exits 0.
                Assert.Equal(0, await current.WaitForExitAsync());
                Assert.Contains($"handed over to process {next.Id}", current.Output);
                await WaitForProgressAsync(load, 200);
                current = next;
            }

            await load.StopAsync();
            Assert.True(load.Refused + load.Reset + load.Corrupted == 0, $"refused {load.Refused}, reset {load.Reset}, corrupted {load.Corrupted}:\n{load.Errors}");
            Assert.True(load.Requests > 800, $"only {load.Requests} requests");

            await current.SignalAsync("TERM");
            Assert.Equal(0, await current.WaitForExitAsync());
            Assert.False(File.Exists(path), "the last process removes its handoff socket");
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
    public async Task NewProcessDiesBeforeReady_OldKeepsServing_NothingLost_ThenAHandoffStillWorks()
    {
        await using var upstream = TestUpstream.Echo();
        var path = SocketPath();
        try
        {
            var arguments = Arguments(upstream.Address, path);
            await using var old = new DataplaneProcess(arguments);
            var listen = await old.Listening;
            await using var load = new HandoffLoad(listen, persistent: 4, requestsPerConnection: 20, NewConnectionPeriod);
            await WaitForProgressAsync(load, 100);

            // A "new process" that receives the listeners and dies before READY: its socket and descriptors close.
            using (var dying = HandoffClient.TryConnect(path, Loopback.Timeout))
            {
                Assert.NotNull(dying);
                var received = dying.ReceiveListeners();
                Assert.Single(received);
                Assert.Equal(listen.Port, ((System.Net.IPEndPoint)received[0].Socket.LocalEndPoint!).Port);
                received.ForEach(l => l.Socket.Dispose());
            }

            await Eventually.True(() => old.Output.Contains("rolled back", StringComparison.Ordinal), "the old process rolls back", Loopback.Timeout);
            await WaitForProgressAsync(load, 100);

            // One that gets as far as COMMIT (the old process stopped accepting) and dies before STARTED: the old one resumes.
            using (var late = HandoffClient.TryConnect(path, Loopback.Timeout))
            {
                Assert.NotNull(late);
                late.ReceiveListeners().ForEach(l => l.Socket.Dispose());
                late.ReadyAndWaitForCommit();
            }

            await Eventually.True(() => CountOf(old.Output, "rolled back") == 2, "the old process rolls back after COMMIT too", Loopback.Timeout);
            await WaitForProgressAsync(load, 100);

            // The old process still hands over to a real one.
            await using var next = new DataplaneProcess(arguments);
            Assert.Equal(listen, await next.Listening);
            Assert.Equal(0, await old.WaitForExitAsync());
            await WaitForProgressAsync(load, 100);

            await load.StopAsync();
            Assert.True(load.Refused + load.Reset + load.Corrupted == 0, $"refused {load.Refused}, reset {load.Reset}, corrupted {load.Corrupted}:\n{load.Errors}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ClientsQueuedWhileAHandoffHoldsAccepting_AreServedWhenItRollsBack_WithoutAnotherClient()
    {
        // Rounds in a row: the lost edge that left queued clients waiting for good came about once in a hundred.
        const int Rounds = 100;
        const int Queued = 4;
        await using var upstream = TestUpstream.Echo();
        var path = SocketPath();
        try
        {
            await using var old = new DataplaneProcess(Arguments(upstream.Address, path));
            var listen = await old.Listening;
            for (var round = 0; round < Rounds; round++)
            {
                var clients = new List<System.Net.Sockets.Socket>();
                try
                {
                    // A "new process" that got COMMIT (the old one stopped accepting) and dies before STARTED,
                    // with clients connected meanwhile: they wait in the backlog, and the old process resumes.
                    using (var late = HandoffClient.TryConnect(path, Loopback.Timeout))
                    {
                        Assert.NotNull(late);
                        late.ReceiveListeners().ForEach(l => l.Socket.Dispose());
                        late.ReadyAndWaitForCommit();
                        for (var i = 0; i < Queued; i++)
                        {
                            var client = await Loopback.ConnectAsync(listen);
                            clients.Add(client);
                            await Loopback.SendAllAsync(client, "ping"u8.ToArray());
                        }
                    }

                    foreach (var client in clients)
                    {
                        try
                        {
                            Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
                        }
                        catch (OperationCanceledException e)
                        {
                            throw new TimeoutException($"round {round}: a queued client was not served in {Loopback.Timeout}\n{old.Output}", e);
                        }
                    }
                }
                finally
                {
                    clients.ForEach(c => c.Dispose());
                }
            }

            await Eventually.True(() => CountOf(old.Output, "rolled back") == Rounds, $"the old process rolled back {Rounds} times", Loopback.Timeout);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Wrk_AcrossAHandoff_NoSocketErrors()
    {
        // A new connection per request (the upstream answers Connection: close), so the handoff happens under wrk's connects.
        await using var upstream = HttpUpstream.StartClosing("hello");
        var path = SocketPath();
        try
        {
            var arguments = Arguments(upstream.Address, path);
            await using var old = new DataplaneProcess(arguments);
            var listen = await old.Listening;
            // wrk runs until the new process has served it too (SIGINT then ends it with its report):
            // a fixed duration would end before the handoff on a slow machine.
            using var stopWrk = new CancellationTokenSource();
            var wrk = Wrk.RunAsync($"http://{listen}/", connections: 8, TimeSpan.FromSeconds(120), stopWrk.Token);
            await Eventually.True(() => upstream.Accepted > 100 || wrk.IsCompleted, "wrk is running", Loopback.Timeout);

            await using var next = new DataplaneProcess(arguments);
            Assert.Equal(listen, await next.Listening);
            Assert.Equal(0, await old.WaitForExitAsync());
            var handedOverAt = upstream.Accepted;
            try
            {
                await Eventually.True(() => upstream.Accepted > handedOverAt + 100 || wrk.IsCompleted, "the new process serves wrk", Loopback.Timeout);
            }
            catch (TimeoutException e)
            {
                // Seen once in nine runs on 2026-12-06: what both processes said is what tells why.
                throw new TimeoutException($"{e.Message}; upstream accepted {upstream.Accepted}, {handedOverAt} at the handoff\n--- old:\n{old.Output}\n--- new:\n{next.Output}", e);
            }
            Assert.False(wrk.IsCompleted, $"wrk ended early: {(wrk.IsCompleted ? (await wrk).Output : "")}");
            await stopWrk.CancelAsync();

            var (code, output) = await wrk;
            Assert.True(code == 0, output);

            // A client refused or reset across the handoff is a read or write error (WrkSocketErrors). A
            // connect error is wrk's own socket()/connect() failing before any packet left (seen once on
            // 2026-12-06 with a solution build alongside, load 36): it says nothing of the handoff, and
            // wrk never uses that connection again, so the new process serving wrk above is the check.
            var errors = WrkSocketErrors.Parse(output);
            Assert.True(errors is { Read: 0, Write: 0, Timeout: 0 }, $"{errors}\n{output}\n--- old:\n{old.Output}\n--- new:\n{next.Output}");
            Assert.DoesNotContain("Non-2xx", output, StringComparison.Ordinal);
            Assert.Matches(@"\d+ requests in", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Wrk_AListenerThatCloses_ShowsAsReadAndWriteErrors_NotConnectErrors()
    {
        // What the handoff test's assertion rests on: a refused client is a read or write error in wrk.
        const int Connections = 8;
        using var stopWrk = new CancellationTokenSource();
        Task<(int ExitCode, string Output)> wrk;
        var upstream = HttpUpstream.StartClosing("hello");
        try
        {
            wrk = Wrk.RunAsync($"http://{upstream.Address}/", Connections, TimeSpan.FromSeconds(120), stopWrk.Token);
            await Eventually.True(() => upstream.Accepted > 100 || wrk.IsCompleted, "wrk is running", Loopback.Timeout);
        }
        finally
        {
            await upstream.DisposeAsync();
        }

        // wrk reconnects at once after each failure, and stops only at its next 100 ms tick.
        await stopWrk.CancelAsync();
        var (_, output) = await wrk;

        // A connect error ends a wrk connection for good (it never reconnects it): more failures than
        // connections means the refusals were counted as read or write errors and retried.
        var errors = WrkSocketErrors.Parse(output);
        Assert.True(errors.Read + errors.Write > Connections && errors.Connect < Connections, $"{errors}\n{output}");
    }

    [Fact]
    public async Task MetricCounters_CarryOverToTheNewProcess()
    {
        await using var upstream = TestUpstream.Echo();
        var path = SocketPath();
        try
        {
            string[] arguments = [.. Arguments(upstream.Address, path), "--admin", "127.0.0.1:0"];
            await using var old = new DataplaneProcess(arguments);
            var listen = await old.Listening;
            for (var i = 0; i < 3; i++)
            {
                using var client = await Loopback.ConnectAsync(listen);
                await Loopback.SendAllAsync(client, "ping"u8.ToArray());
                Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(client, 4));
            }

            await using var next = new DataplaneProcess(arguments);
            Assert.Equal(listen, await next.Listening);
            var (_, metrics) = await Curl.GetAsync($"http://{await next.Admin}/metrics");
            Assert.Matches($@"dataplane_proxy_upstream_connections(_total)?\{{[^}}]*upstream=""{upstream.Address}""[^}}]*\}} 3\n", metrics);
            Assert.Matches($@"dataplane_proxy_upstream_bytes(_total)?\{{[^}}]*direction=""to_client""[^}}]*\}} 12\n", metrics);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task HandoffSocket_IsOnlyForThisUser()
    {
        await using var upstream = TestUpstream.Echo();
        var path = SocketPath();
        try
        {
            await using var proxy = new DataplaneProcess(Arguments(upstream.Address, path));
            await proxy.Listening;
            await Eventually.True(() => File.Exists(path), "the handoff socket exists", Loopback.Timeout);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string[] Arguments(string upstream, string path) =>
        ["--listen", "127.0.0.1:0", "--upstream", upstream, "--handoff-socket", path, "--drain-timeout", "20s", "--handoff-timeout", "10s"];

    private static string SocketPath() => Path.Combine(Path.GetTempPath(), $"dp-handoff-{Guid.NewGuid():N}.sock");

    private static int CountOf(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;

    private static async Task WaitForProgressAsync(HandoffLoad load, int requests)
    {
        var target = load.Requests + requests;
        await Eventually.True(() => load.Requests >= target || load.Refused + load.Reset + load.Corrupted > 0, $"{requests} more requests answered", Loopback.Timeout);
    }
}
