using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// Live migration: stopping a copying pair at a quiet point (no byte read and not yet written, no
/// operation pending on either socket, neither socket shut down or closed), and taking over a pair
/// another process stopped that way. shared/HANDOFF.md has the measurements behind each step.
/// </summary>
internal sealed partial class ProxyConnection
{
    // _migration: Copying -> Quiescing (a migration asked) -> Frozen (quiet, waiting for the decision)
    // -> Migrated, or back to Copying; Done once the copy ended on its own.
    private const int Copying = 0;
    private const int Quiescing = 1;
    private const int Frozen = 2;
    private const int Done = 3;
    private const int Migrated = 4;

    private int _migration;
    private PairMigration? _request;

    // Cancels only the receives: on Linux that dequeues them, no system call touches the socket.
    private CancellationTokenSource _receiveStop = new();
    private bool _clientEnded;
    private bool _upstreamEnded;

    /// <summary>
    /// Asks a copying connection to stop at its quiet point; null when it is not copying (still
    /// connecting, or ending). Called under the open-connection list's lock, so the connection cannot end
    /// and be reused meanwhile.
    /// </summary>
    public PairMigration? RequestQuiesce()
    {
        if (!Volatile.Read(ref _copyStarted) || Volatile.Read(ref _aborted) != 0)
        {
            return null;
        }

        var request = new PairMigration();
        if (Interlocked.CompareExchange(ref _request, request, null) is not null)
        {
            return null;
        }

        if (Interlocked.CompareExchange(ref _migration, Quiescing, Copying) != Copying)
        {
            Volatile.Write(ref _request, null);
            return null;
        }

        if (_pair is not null)
        {
            _pair.Pause();
        }
        else
        {
            _receiveStop.Cancel();
        }

        return request;
    }

    /// <summary>
    /// Runs a pair another process stopped at its quiet point, from there: bytes that arrived meanwhile
    /// wait in the kernel and are read first. The upstream already counts it as active. It runs to its
    /// end, then the instance goes back to the host, as a new connection's does. Never throws.
    /// </summary>
    public void StartAdopted(Socket client, Socket upstreamSocket, Upstream upstream, bool clientEnded, bool upstreamEnded, TimeSpan age)
    {
        _client = client;
        _upstreamSocket = upstreamSocket;
        _upstream = upstream;
        var now = _host.Time.GetTimestamp();
        _startedAt = now - (long)(age.TotalSeconds * _host.Time.TimestampFrequency);
        _clientEnded = clientEnded;
        _upstreamEnded = upstreamEnded;

        // A direction that ended already passed its FIN on: the other one closes without a shutdown.
        _sendsEnded = (clientEnded ? 1 : 0) + (upstreamEnded ? 1 : 0);
        if (_pair is not null)
        {
            _clientFd = (int)client.Handle;
            _upstreamFd = (int)upstreamSocket.Handle;
        }

        Run(RunAdoptedAsync());
    }

    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder))]
    private async ValueTask RunAdoptedAsync()
    {
        _pair?.Begin();
        if (_pair is not null && !_pair.Adopt(_upstreamFd, _clientEnded, _upstreamEnded))
        {
            // The descriptor could not join the loop: the connection cannot go on here.
            Abort(reset: true);
        }

        Volatile.Write(ref _copyStarted, true);
        try
        {
            await CopyAsync();
        }
        catch (Exception e)
        {
            _host.OnUnexpected(e);
            Abort(reset: true);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// After both directions stopped: false when the copy is over (it ended, failed or migrated), true
    /// when a migration asked for a quiet point and then decided to resume here.
    /// </summary>
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<bool> PausedAndResumedAsync(DirectionEnd up, DirectionEnd down)
    {
        if (Interlocked.CompareExchange(ref _migration, Done, Copying) == Copying)
        {
            return false;
        }

        var request = Volatile.Read(ref _request)!;
        var quiet = up != DirectionEnd.Failed && down != DirectionEnd.Failed && (up == DirectionEnd.Paused || down == DirectionEnd.Paused);
        if (quiet)
        {
            // Paired with Abort: it sets _aborted then reads the state, this sets the state then reads
            // _aborted, so either Abort closes the sockets or this sees the abort; never neither.
            Interlocked.Exchange(ref _migration, Frozen);
            quiet = Volatile.Read(ref _aborted) == 0;
        }

        if (!quiet)
        {
            Volatile.Write(ref _migration, Done);
            request.CannotMove();
            CloseIfAborted();
            return false;
        }

        // The epoll transport's descriptors get their runtime Sockets only now: a migration hands Sockets over.
        _client ??= Wrap(_clientFd);
        _upstreamSocket ??= Wrap(_upstreamFd);
        request.SetQuiet(_client, _upstreamSocket, _upstream!, _clientEnded, _upstreamEnded, _host.Time.GetElapsedTime(_startedAt));
        if (await request.Decision)
        {
            Volatile.Write(ref _migration, Migrated);
            return false;
        }

        // Resumed: a cancelled token source cannot be reset.
        _receiveStop.Dispose();
        _receiveStop = new CancellationTokenSource();
        Volatile.Write(ref _request, null);
        Interlocked.Exchange(ref _migration, Copying);
        if (CloseIfAborted())
        {
            return false;
        }

        return true;
    }

    /// <summary>An abort that came while the pair was frozen was put off: it is carried out now.</summary>
    private bool CloseIfAborted()
    {
        if (Volatile.Read(ref _aborted) == 0)
        {
            return false;
        }

        Close(_client, ref _clientFd, reset: true);
        Close(_upstreamSocket, ref _upstreamFd, reset: true);
        return true;
    }

    /// <summary>Whether the sockets belong to another process now, or may any moment (frozen for a migration).</summary>
    private bool HandedOverOrFrozen => Volatile.Read(ref _migration) is Frozen or Migrated;

    /// <summary>Resets the migration state of a pooled instance; false when it cannot be reused.</summary>
    private bool TryResetMigration()
    {
        if (Volatile.Read(ref _migration) == Migrated)
        {
            // Its pipes were stopped, not completed: not reusable.
            return false;
        }

        if (!_receiveStop.TryReset())
        {
            _receiveStop.Dispose();
            _receiveStop = new CancellationTokenSource();
        }

        _migration = Copying;
        _request = null;
        _clientEnded = false;
        _upstreamEnded = false;
        return true;
    }
}
