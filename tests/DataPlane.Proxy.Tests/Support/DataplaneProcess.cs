using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace DataPlane.Proxy.Tests.Support;

/// <summary>The real `dataplane proxy` executable, started with arguments; it reports its ports on stdout.</summary>
internal sealed partial class DataplaneProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IPEndPoint> _admin = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];

    public DataplaneProcess(params string[] arguments)
        : this(new Dictionary<string, string>(), arguments)
    {
    }

    /// <summary>Starts it with <paramref name="environment"/> added to this process's environment.</summary>
    public DataplaneProcess(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "dataplane"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add("proxy");
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public Task<IPEndPoint> Listening => _listening.Task.WaitAsync(Loopback.Timeout);

    public Task<IPEndPoint> Admin => _admin.Task.WaitAsync(Loopback.Timeout);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Sends a signal by PID (kill(1)), e.g. TERM or HUP.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync().WaitAsync(Loopback.Timeout);
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Loopback.Timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(Loopback.Timeout);
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
            _output.Add(line);
        }

        if (ListeningLine().Match(line) is { Success: true } m)
        {
            _listening.TrySetResult(IPEndPoint.Parse(m.Groups[1].Value));
        }
        else if (AdminLine().Match(line) is { Success: true } a)
        {
            _admin.TrySetResult(IPEndPoint.Parse(a.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"^listening (\S+) ->")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^admin http://([^/]+)/")]
    private static partial Regex AdminLine();
}
