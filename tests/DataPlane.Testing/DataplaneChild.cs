using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace DataPlane.Testing;

/// <summary>
/// The real executable as a child process: <c>dotnet dataplane.dll SUBCOMMAND ...</c> from the test's
/// output directory (test projects reference src/Cli so that it is there). Every wait is bounded.
/// </summary>
public sealed class DataplaneChild : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly string _marker;
    private readonly TaskCompletionSource<IPEndPoint?> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _output = new();

    private DataplaneChild(string subcommand, IEnumerable<string> args)
    {
        _marker = $"dataplane {subcommand} listening on ";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dataplane.dll"));
        start.ArgumentList.Add(subcommand);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The address from its <c>dataplane SUBCOMMAND listening on ADDRESS</c> line, once it printed one.</summary>
    public IPEndPoint? EndPoint => _listening.Task.IsCompletedSuccessfully ? _listening.Task.Result : null;

    /// <summary>The exit code, once it exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the subcommand and waits until it says it listens; fails with its output if it exits first.</summary>
    public static async Task<DataplaneChild> StartAsync(string subcommand, IEnumerable<string> args)
    {
        var child = new DataplaneChild(subcommand, args);
        var first = await Task.WhenAny(child._listening.Task, child._process.WaitForExitAsync()).WaitAsync(Patience);
        if (first != child._listening.Task)
        {
            var output = child.Output;
            child.Dispose();
            throw new InvalidOperationException($"dataplane {subcommand} exited before listening: {output}");
        }

        return child;
    }

    /// <summary>Runs the subcommand when it is expected to stop by itself (a refused start); returns once it exited.</summary>
    public static async Task<DataplaneChild> RunToExitAsync(string subcommand, IEnumerable<string> args)
    {
        var child = new DataplaneChild(subcommand, args);
        try
        {
            await child._process.WaitForExitAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            // It did not stop: the test fails, and the process must not outlive it (it may hold a port or a data directory).
            child.Dispose();
            throw;
        }

        return child;
    }

    /// <summary>SIGTERM (through kill(1)), then the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        await SignalAsync("TERM");
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no clean shutdown, no goodbye to peers; returns once it is gone.</summary>
    public Task KillAsync() => SignalAsync("KILL");

    /// <summary>Waits until the process exits.</summary>
    public Task WaitForExitAsync() => _process.WaitForExitAsync().WaitAsync(Patience);

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(30_000);
        }

        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using (var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().WaitAsync(Patience);
        }

        await WaitForExitAsync();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.StartsWith(_marker, StringComparison.Ordinal))
        {
            var address = line[_marker.Length..].Split(' ', 2)[0];
            _listening.TrySetResult(IPEndPoint.TryParse(address, out var endPoint) ? endPoint : null);
        }
    }
}
