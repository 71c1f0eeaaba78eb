using System.Net.Sockets;
using DataPlane.Net.Epoll;

namespace DataPlane.Net;

/// <summary>
/// Accepts connections from a listening socket and hands each to a dispatcher. Stopping cancels the
/// pending <c>AcceptAsync</c> (never a blocking Accept, never a Dispose while it is pending), so the
/// listening socket stays intact and can be handed to another process or kept listening
/// (shared/HANDOFF.md); whether the listener is closed afterwards is the owner's choice. Out of
/// descriptors or memory it pauses and gives the runtime the process's <see cref="DescriptorReserve"/>,
/// as <see cref="EpollListener"/> does.
/// </summary>
internal sealed class AcceptLoop : IAcceptor
{
    // How long accepting pauses when out of descriptors or memory (HAProxy's listener.c waits 100 ms).
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Socket _listener;
    private readonly IConnectionDispatcher _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private Task? _running;

    /// <summary>Creates a loop over a listening socket; nothing is accepted before <see cref="Start"/>.</summary>
    public AcceptLoop(Socket listener, IConnectionDispatcher dispatcher)
    {
        _listener = listener;
        _dispatcher = dispatcher;
    }

    /// <summary>The listening socket (for its LocalEndPoint, or to hand it over after <see cref="StopAsync"/>).</summary>
    public Socket Listener => _listener;

    /// <summary>Whether the loop was started and not stopped.</summary>
    public bool IsRunning => _running is not null && !_stop.IsCancellationRequested;

    /// <summary>Starts accepting on the thread pool.</summary>
    public void Start()
    {
        DescriptorReserve.TryRestore();
        _running ??= Task.Run(RunAsync);
    }

    /// <summary>Stops accepting and waits until no accept is pending; the listener is left open.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_running is not null)
        {
            await _running;
        }
    }

    /// <summary>Releases the loop's own resources; the listener is not closed (its owner closes it).</summary>
    public void Dispose() => _stop.Dispose();

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var pause = false;
        while (!token.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                await PauseWhileShortAsync(pause, token);
                pause = false;
                accepted = await _listener.AcceptAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (DescriptorReserve.IsOutOfResources(e.SocketErrorCode))
            {
                // The client stays queued. Accepting again at once fails the same way, in a loop that
                // spins a core and leaves the runtime no descriptor to start a thread with (which aborts
                // the process): give the runtime the reserve and pause, as EpollListener does.
                DescriptorReserve.Release();
                _dispatcher.OnAcceptError(e);
                pause = true;
                continue;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                // The peer went away between SYN and accept: the listener is fine, keep accepting.
                _dispatcher.OnAcceptError(e);
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _dispatcher.OnAcceptError(e);
                return;
            }

            if (DescriptorReserve.KeepHeadroom((int)accepted.SafeHandle.DangerousGetHandle()) != 0)
            {
                // Served, but too few descriptors are left besides the reserve: it went to the runtime, and
                // the next round pauses until it is back (PauseWhileShortAsync).
                _dispatcher.OnAcceptError(new SocketException((int)SocketError.TooManyOpenSockets));
            }

            _dispatcher.OnAccepted(accepted);
        }
    }

    private static bool IsTransient(SocketError error) => error is SocketError.ConnectionAborted or SocketError.ConnectionReset
        or SocketError.Interrupted;

    /// <summary>
    /// Out of descriptors lately (an accept here, or any socket of the process, failed and let the reserve
    /// go): pauses, then accepts again once the whole reserve could be taken back, as EpollListener's
    /// retries do. A client accepted before that would take the runtime's room, or be closed at once for
    /// want of an upstream socket, client after client. The reserve is Linux's (eventfds); elsewhere
    /// this loop's own failure pauses it once.
    /// </summary>
    private static async Task PauseWhileShortAsync(bool failed, CancellationToken token)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (failed)
            {
                await Task.Delay(RetryDelay, token);
            }

            return;
        }

        while (!DescriptorReserve.IsWhole)
        {
            await Task.Delay(RetryDelay, token);
            DescriptorReserve.TryRestore();
        }
    }
}
