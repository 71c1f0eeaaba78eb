using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// A real <c>dataplane proxy</c> process (src/Cli's build output, run with <c>dotnet</c>), started
/// for one policy and ended by its PID. A proxy that is not built yet makes the caller skip.
/// </summary>
internal sealed class ProxyProcess : IAsyncDisposable
{
    /// <summary>An environment variable that names another dataplane.dll to measure.</summary>
    public const string DllVariable = "DATAPLANE_DLL";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] Configurations = ["Release", "Debug"];

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ProxyProcess(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// <see cref="DllVariable"/> if set, else src/Cli's <c>dataplane.dll</c> in the checkout the
    /// bench runs from (bench.csproj references src/Cli without its assembly, so building the bench
    /// builds it), Release first.
    /// </summary>
    public static string? Locate()
    {
        if (Environment.GetEnvironmentVariable(DllVariable) is { Length: > 0 } named)
        {
            return File.Exists(named) ? Path.GetFullPath(named) : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DataPlane.sln")))
            {
                return Configurations
                    .Select(configuration => Path.Combine(dir.FullName, "src", "Cli", "bin", configuration, "net10.0", "dataplane.dll"))
                    .FirstOrDefault(File.Exists);
            }
        }

        return null;
    }

    /// <summary>Starts <c>dotnet DATAPLANE_DLL proxy ...</c> and returns once it accepts connections.</summary>
    /// <exception cref="ScenarioSkippedException">The executable says its proxy is not built yet.</exception>
    public static Task<ProxyProcess> StartAsync(string dataplaneDll, LbPolicy policy, IReadOnlyList<IPEndPoint> upstreams, CancellationToken cancellationToken) =>
        StartAsync("dotnet", [dataplaneDll], policy, upstreams, cancellationToken);

    /// <summary>Starts <c>FILE LEADING... proxy --listen ... --policy ... --upstream ...</c> and returns once it accepts connections.</summary>
    /// <exception cref="ScenarioSkippedException">The executable says its proxy is not built yet.</exception>
    public static async Task<ProxyProcess> StartAsync(
        string fileName, IReadOnlyList<string> leadingArguments, LbPolicy policy, IReadOnlyList<IPEndPoint> upstreams, CancellationToken cancellationToken)
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in leadingArguments.Concat(["proxy", "--listen", endPoint.ToString(), "--policy", LbPolicyNames.Name(policy)]))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var upstream in upstreams)
        {
            start.ArgumentList.Add("--upstream");
            start.ArgumentList.Add(upstream.ToString());
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var proxy = new ProxyProcess(process, endPoint);
        process.OutputDataReceived += (_, e) => proxy.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => proxy.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await proxy.WaitUntilListeningAsync(cancellationToken);
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        using var timeout = new CancellationTokenSource(StartTimeout);
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // The last few kilobytes are what explains a failure.
            _output.AppendLine(line);
            if (_output.Length > 8192)
            {
                _output.Remove(0, _output.Length - 4096);
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString().Trim();
        }
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken);
                var output = Output();
                if (output.Contains("not built yet", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ScenarioSkippedException($"`dataplane proxy` is not built yet (issue #9): it said \"{output}\"");
                }

                throw new InvalidOperationException($"`dataplane proxy` exited with code {_process.ExitCode} before listening on {EndPoint}: {output}");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(EndPoint, cancellationToken);
                return;
            }
            catch (SocketException) when (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
