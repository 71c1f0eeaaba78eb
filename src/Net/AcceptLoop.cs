using System.Net.Sockets;

namespace DataPlane.Net;

/// <summary>
/// Accepts connections from a listening socket and hands each to a dispatcher. Stopping cancels the
/// pending <c>AcceptAsync</c> (never a blocking Accept, never a Dispose while it is pending), so the
/// listening socket stays intact and can be handed to another process or kept listening
/// (shared/HANDOFF.md); whether the listener is closed afterwards is the owner's choice.
/// </summary>
internal sealed class AcceptLoop : IAcceptor
{
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
    public void Start() => _running ??= Task.Run(RunAsync);

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
        while (!token.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                // The peer went away between SYN and accept, or we are out of descriptors for a moment:
                // the listener is fine, keep accepting.
                _dispatcher.OnAcceptError(e);
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _dispatcher.OnAcceptError(e);
                return;
            }

            _dispatcher.OnAccepted(accepted);
        }
    }

    private static bool IsTransient(SocketError error) => error is SocketError.ConnectionAborted or SocketError.ConnectionReset
        or SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.Interrupted;
}
