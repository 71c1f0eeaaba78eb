using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DataPlane.Net;

namespace DataPlane.Proxy.Handoff;

/// <summary>
/// The new process's side of a handoff (<see cref="HandoffProtocol"/>): connects to the running
/// process's socket, adopts its listening sockets, then says READY, waits for COMMIT, and says STARTED
/// once it accepts.
/// </summary>
internal sealed class HandoffClient : IDisposable
{
    private readonly HandoffChannel _channel;
    private readonly TimeSpan _timeout;

    private HandoffClient(HandoffChannel channel, TimeSpan timeout)
    {
        _channel = channel;
        _timeout = timeout;
    }

    /// <summary>The running process's id.</summary>
    public int PeerPid { get; private set; }

    /// <summary>Connects to a running process at <paramref name="path"/>; null when none serves it (no file, or a stale one).</summary>
    /// <exception cref="IOException">The process there runs as another user.</exception>
    public static HandoffClient? TryConnect(string path, TimeSpan timeout)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.AccessDenied)
        {
            socket.Dispose();
            return null;
        }

        var channel = new HandoffChannel(socket);
        if (!channel.PeerIsSameUser(out var pid, out var uid))
        {
            channel.Dispose();
            throw new IOException($"the process serving {path} (pid {pid}) runs as uid {uid}, not as this user");
        }

        return new HandoffClient(channel, timeout) { PeerPid = pid };
    }

    /// <summary>Receives and adopts every listening socket of the running process (none accepts here yet).</summary>
    public List<HandoffListener> ReceiveListeners()
    {
        var adopted = new List<HandoffListener>();
        try
        {
            while (true)
            {
                var message = _channel.Receive(_timeout);
                var lines = message.Text.Split('\n');
                var header = lines[0].Split(' ');
                if (header.Length != 2 || header[0] != HandoffProtocol.Listeners || lines.Length - 1 != message.Descriptors.Length)
                {
                    HandoffChannel.CloseAll(message.Descriptors);
                    throw new InvalidDataException($"unexpected handoff message '{lines[0]}' with {message.Descriptors.Length} descriptors");
                }

                for (var i = 0; i < message.Descriptors.Length; i++)
                {
                    adopted.Add(new HandoffListener(IPEndPoint.Parse(lines[i + 1]), ListenSocket.Adopt(message.Descriptors[i])));
                }

                if (header[1] == HandoffProtocol.End)
                {
                    return adopted;
                }
            }
        }
        catch
        {
            // No accept is pending on them: a plain close, the old process's copies keep listening.
            adopted.ForEach(l => l.Socket.Dispose());
            throw;
        }
    }

    /// <summary>
    /// Asks the running process for its established connections on the listeners configured at
    /// <paramref name="listens"/> (live migration) and adopts the sockets it sends; none copies here
    /// before COMMIT. On failure every received socket is closed (the old process resumes them).
    /// </summary>
    public List<MigratedPair> ReceiveConnections(IEnumerable<IPEndPoint> listens)
    {
        _channel.Send(string.Join('\n', listens.Select(l => l.ToString()).Prepend(HandoffProtocol.Migrate)), [], _timeout);
        var adopted = new List<MigratedPair>();
        try
        {
            while (true)
            {
                var message = _channel.Receive(_timeout);
                var lines = message.Text.Split('\n');
                var header = lines[0].Split(' ');
                if (header.Length != 2 || header[0] != HandoffProtocol.Connections || (lines.Length - 1) * 2 != message.Descriptors.Length)
                {
                    HandoffChannel.CloseAll(message.Descriptors);
                    throw new InvalidDataException($"unexpected handoff message '{lines[0]}' with {message.Descriptors.Length} descriptors");
                }

                // Every line is parsed before any descriptor is wrapped: a bad message closes them all.
                var pairs = new (IPEndPoint Listen, string Upstream, int Flags, long AgeMs)[lines.Length - 1];
                try
                {
                    for (var i = 0; i < pairs.Length; i++)
                    {
                        var fields = lines[i + 1].Split(' ');
                        pairs[i] = fields.Length == 4
                            ? (IPEndPoint.Parse(fields[0]), fields[1], int.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[3], CultureInfo.InvariantCulture))
                            : throw new FormatException($"{fields.Length} fields");
                    }
                }
                catch (Exception e) when (e is FormatException or OverflowException)
                {
                    HandoffChannel.CloseAll(message.Descriptors);
                    throw new InvalidDataException($"bad pair line in '{message.Text}': {e.Message}");
                }

                for (var i = 0; i < pairs.Length; i++)
                {
                    var (listen, upstream, flags, ageMs) = pairs[i];
                    adopted.Add(new MigratedPair(
                        listen,
                        upstream,
                        (flags & HandoffProtocol.ClientEnded) != 0,
                        (flags & HandoffProtocol.UpstreamEnded) != 0,
                        TimeSpan.FromMilliseconds(ageMs),
                        new Socket(new SafeSocketHandle(message.Descriptors[2 * i], ownsHandle: true)),
                        new Socket(new SafeSocketHandle(message.Descriptors[(2 * i) + 1], ownsHandle: true))));
                }

                if (header[1] == HandoffProtocol.End)
                {
                    return adopted;
                }
            }
        }
        catch
        {
            adopted.ForEach(p => p.Close());
            throw;
        }
    }

    /// <summary>
    /// Says READY and waits for the running process to stop accepting (COMMIT); returns the metric
    /// counter lines that came with it.
    /// </summary>
    public string[] ReadyAndWaitForCommit()
    {
        _channel.Send(HandoffProtocol.Ready, [], _timeout);
        var reply = _channel.Receive(_timeout);
        HandoffChannel.CloseAll(reply.Descriptors);
        var lines = reply.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] != HandoffProtocol.Commit)
        {
            throw new InvalidDataException($"expected {HandoffProtocol.Commit}, got '{reply.Text}'");
        }

        return lines[1..];
    }

    /// <summary>Tells the old process this one accepts now: it may close its copies and drain.</summary>
    public void Started() => _channel.Send(HandoffProtocol.Started, [], _timeout);

    public void Dispose() => _channel.Dispose();
}
