using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>A real <c>dataplane store</c> cluster node as a child process (<c>dotnet dataplane.dll store --node-id ...</c>).</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _output = new();

    private NodeProcess(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dataplane.dll"));
        start.ArgumentList.Add("store");
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

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts a node and waits until it listens (or fails if it exits first).</summary>
    public static async Task<NodeProcess> StartAsync(IEnumerable<string> args)
    {
        var node = new NodeProcess(args);
        var first = await Task.WhenAny(node._listening.Task, node._process.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(60));
        if (first != node._listening.Task)
        {
            throw new InvalidOperationException("dataplane store exited before listening: " + node.Output);
        }

        return node;
    }

    /// <summary>Runs a node that is expected to refuse to start; returns once it exited.</summary>
    public static async Task<NodeProcess> RunToExitAsync(IEnumerable<string> args)
    {
        var node = new NodeProcess(args);
        await node._process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return node;
    }

    /// <summary>SIGKILL: no checkpoint, no goodbye to the peers.</summary>
    public async Task KillAsync()
    {
        using (var kill = Process.Start("kill", ["-KILL", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(30_000);
        }

        _process.Dispose();
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

        if (line.StartsWith("dataplane store listening on ", StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
    }
}
