using System.Diagnostics;
using System.Net;
using DataPlane.Testing;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>The real executable (<c>dotnet dataplane.dll store ...</c>) as a child process on an ephemeral port.</summary>
internal sealed class LogProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _output = new();

    private LogProcess(string directory, string[] extra)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dataplane.dll"));
        foreach (var arg in (string[])["log", "--listen", "127.0.0.1:0", "--data", directory, .. extra])
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

    public static async Task<(LogProcess Process, IPEndPoint EndPoint)> StartAsync(string directory, params string[] extra)
    {
        var process = new LogProcess(directory, extra);
        var exited = process._process.WaitForExitAsync();
        var first = await Task.WhenAny(process._listening.Task, exited).WaitAsync(TimeSpan.FromSeconds(60));
        if (first != process._listening.Task)
        {
            throw new InvalidOperationException("dataplane log exited before listening: " + process.Output);
        }

        return (process, await process._listening.Task);
    }

    /// <summary>Sends SIGTERM (through kill(1)) and waits for the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
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

        const string marker = "dataplane log listening on ";
        if (line.StartsWith(marker, StringComparison.Ordinal) && IPEndPoint.TryParse(line[marker.Length..], out var endPoint))
        {
            _listening.TrySetResult(endPoint);
        }
    }
}
