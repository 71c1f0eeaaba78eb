using System.Net;
using DataPlane.Bench.Scenarios.Lb;

namespace DataPlane.Bench.Tests;

/// <summary>How the LB scenario starts the proxy process and tells "not built yet" from a failure.</summary>
public sealed class ProxyProcessTests
{
    private static readonly IPEndPoint[] Upstreams = [new(IPAddress.Loopback, 1), new(IPAddress.Loopback, 2)];

    [Fact]
    public async Task StartAsync_WhenTheProxySaysNotBuiltYet_SkipsWithItsMessage()
    {
        // The CLI's stub prints this and exits 2; sh stands in for it here so the test does not depend on issue #9's progress.
        string[] stub = ["-c", "echo 'dataplane proxy: the TCP sidecar proxy is not built yet (issue #9).' >&2; exit 2", "dataplane"];

        var skipped = await Assert.ThrowsAsync<ScenarioSkippedException>(
            () => ProxyProcess.StartAsync("sh", stub, LbPolicy.P2C, Upstreams, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains("not built yet (issue #9)", skipped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_WhenTheProcessFailsOtherwise_ThrowsWithItsExitCodeAndOutput()
    {
        string[] failing = ["-c", "echo 'unknown option --policy' >&2; exit 3", "dataplane"];

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => ProxyProcess.StartAsync("sh", failing, LbPolicy.RoundRobin, Upstreams, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown option --policy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_PassesTheContractsArguments()
    {
        // The script echoes its arguments and fails, so the error carries the command line the proxy would get.
        string[] echo = ["-c", "echo \"$@\" >&2; exit 4", "dataplane"];

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => ProxyProcess.StartAsync("sh", echo, LbPolicy.P2CEwma, Upstreams, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Matches(@"proxy --listen 127\.0\.0\.1:\d+ --policy p2c-ewma --upstream 127\.0\.0\.1:1 --upstream 127\.0\.0\.1:2", error.Message);
    }
}
