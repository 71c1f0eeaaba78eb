using System.Net;
using System.Net.Sockets;
using DataPlane.Proxy.Forwarding;
using Microsoft.Extensions.Logging;

namespace DataPlane.Proxy.Handoff;

/// <summary>
/// The running process's side of a handoff: serves the Unix socket at a path (mode 0600, peer checked
/// with SO_PEERCRED), and hands the listening sockets of its <see cref="IHandoffSource"/> to the process
/// that connects, following <see cref="HandoffProtocol"/>. <see cref="HandedOver"/> completes when a new
/// process took over; after a failed attempt this process keeps serving and waits for the next one.
/// </summary>
internal sealed partial class HandoffServer : IAsyncDisposable
{
    private readonly string _path;
    private readonly IHandoffSource _source;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<int> _handedOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Socket? _listener;
    private Task? _running;

    public HandoffServer(string path, IHandoffSource source, TimeSpan timeout, ILogger logger)
    {
        _path = Path.GetFullPath(path);
        _source = source;
        _timeout = timeout;
        _logger = logger;
    }

    /// <summary>Completes with the new process's id once it has taken over every listener.</summary>
    public Task<int> HandedOver => _handedOver.Task;

    /// <summary>
    /// Binds the socket path and starts serving it. The socket is bound under a temporary name, made
    /// 0600 and listening, then renamed over the path in one step: a process that connects always finds
    /// a listening socket (the previous owner's until the rename, this one's after), and the previous
    /// owner closing its socket later (.NET then deletes the name it bound) cannot remove this one's.
    /// </summary>
    public void Start()
    {
        var bound = $"{_path}.{Environment.ProcessId}";
        File.Delete(bound);
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(bound));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(bound, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            listener.Listen(1);
            File.Move(bound, _path, overwrite: true);
        }
        catch
        {
            listener.Dispose();
            File.Delete(bound);
            throw;
        }

        _listener = listener;
        _running = Task.Run(RunAsync);
        LogServing(_path);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_running is not null)
        {
            await _running;
        }

        _listener?.Dispose();

        // The path belongs to the process that took over; remove it only if nobody did.
        if (!_handedOver.Task.IsCompleted && _listener is not null)
        {
            File.Delete(_path);
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket peer;
            try
            {
                peer = await _listener!.AcceptAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                LogFailed(e.Message);
                continue;
            }

            using var channel = new HandoffChannel(peer);
            if (await HandOverAsync(channel) is { } pid)
            {
                _handedOver.TrySetResult(pid);
                return;
            }
        }
    }

    /// <summary>Runs one handoff; returns the new process's id, or null after a rollback.</summary>
    private async Task<int?> HandOverAsync(HandoffChannel channel)
    {
        if (!channel.PeerIsSameUser(out var pid, out var uid))
        {
            LogForeignPeer(pid, uid);
            return null;
        }

        var started = Environment.TickCount64;
        var paused = false;
        var committed = false;
        List<(IPEndPoint Listen, PairMigration Pair)> migrating = [];
        try
        {
            var listeners = _source.HandoffListeners();
            await Task.Run(() => SendListeners(channel, listeners));
            var answer = await Task.Run(() => channel.Receive(_timeout));
            if (answer.Text.StartsWith(HandoffProtocol.Migrate, StringComparison.Ordinal))
            {
                HandoffChannel.CloseAll(answer.Descriptors);
                await _source.PauseAcceptingAsync();
                paused = true;
                migrating = await QuiesceAsync(ParseListens(answer.Text));
                await Task.Run(() => SendConnections(channel, migrating));
                Expect(await Task.Run(() => channel.Receive(_timeout)), HandoffProtocol.Ready);
            }
            else
            {
                Expect(answer, HandoffProtocol.Ready);
                await _source.PauseAcceptingAsync();
                paused = true;
            }

            await Task.Run(() => channel.Send($"{HandoffProtocol.Commit}\n{_source.CarriedCounters()}", [], _timeout));

            // From here on the pairs are the new process's, whatever happens next (HandoffProtocol).
            committed = true;
            migrating.ForEach(p => p.Pair.Migrated());
            await Task.Run(() => Expect(channel.Receive(_timeout), HandoffProtocol.Started));
            LogHandedOver(listeners.Count, migrating.Count, pid, Environment.TickCount64 - started);
            return pid;
        }
        catch (Exception e) when (e is IOException or TimeoutException or SocketException or InvalidDataException or ObjectDisposedException or FormatException)
        {
            if (paused)
            {
                _source.ResumeAccepting();
            }

            LogRolledBack(pid, migrating.Count, e.Message);
            return null;
        }
        finally
        {
            if (!committed)
            {
                migrating.ForEach(p => p.Pair.Resume());
            }
        }
    }

    private void SendListeners(HandoffChannel channel, IReadOnlyList<HandoffListener> listeners)
    {
        var sent = 0;
        do
        {
            var chunk = listeners.Skip(sent).Take(HandoffChannel.MaxDescriptors).ToArray();
            sent += chunk.Length;
            var header = $"{HandoffProtocol.Listeners} {(sent < listeners.Count ? HandoffProtocol.More : HandoffProtocol.End)}";
            var text = string.Join('\n', chunk.Select(l => l.Listen.ToString()).Prepend(header));
            var descriptors = chunk.Select(l => (int)l.Socket.SafeHandle.DangerousGetHandle()).ToArray();
            channel.Send(text, descriptors, _timeout);
        }
        while (sent < listeners.Count);
    }

    private static void Expect(HandoffMessage message, string expected)
    {
        HandoffChannel.CloseAll(message.Descriptors);
        if (message.Text != expected)
        {
            throw new InvalidDataException($"expected {expected} from the new process, got '{message.Text}'");
        }
    }

    [LoggerMessage(EventId = 150, Level = LogLevel.Information, Message = "Handoff socket {Path}: a new process started with it takes over the listeners")]
    private partial void LogServing(string path);

    [LoggerMessage(EventId = 151, Level = LogLevel.Information, Message = "Handed {Count} listeners and {Connections} connections over to process {Pid} in {Milliseconds} ms; draining the rest")]
    private partial void LogHandedOver(int count, int connections, int pid, long milliseconds);

    [LoggerMessage(EventId = 152, Level = LogLevel.Warning, Message = "Handoff to process {Pid} rolled back, this process keeps serving (and copying its {Connections} stopped connections): {Error}")]
    private partial void LogRolledBack(int pid, int connections, string error);

    [LoggerMessage(EventId = 153, Level = LogLevel.Warning, Message = "Handoff refused: peer process {Pid} runs as uid {Uid}, not this process's user")]
    private partial void LogForeignPeer(int pid, uint uid);

    [LoggerMessage(EventId = 154, Level = LogLevel.Warning, Message = "Handoff socket accept failed: {Error}")]
    private partial void LogFailed(string error);
}
