using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;
using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Server.Epoll;

/// <summary>
/// One event loop of a single node, as Redis's: a thread blocked in <c>epoll_wait</c> that receives
/// each ready client's bytes, executes its commands against FASTER and sends the replies itself.
/// The replies of writes are held until the end of the round of events, when one write of the log
/// covers every client of the round (Redis writes its AOF buffer in <c>beforeSleep</c> the same way);
/// then they are sent. Other threads reach the loop only through queues and an eventfd: new
/// clients, fsyncs that completed, a cluster node's quorum operations that were decided, stop.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The loop's thread disposes the waiter when it ends (CloseAll); StopAsync ends it.")]
internal sealed partial class RespLoop
{
    private readonly StoreContext _context;
    private readonly ILogger _logger;
    private readonly EpollWaiter _waiter = new();
    private readonly Thread _thread;
    private readonly ConcurrentQueue<(Socket Socket, long Id)> _accepted = new();
    private readonly ConcurrentQueue<RespClient> _durable = new();
    private readonly ConcurrentQueue<RespClient> _decided = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<RespClient?> _clients = [];
    private readonly Stack<int> _freeSlots = new();
    private List<RespClient> _heldForLog = [];
    private List<RespClient> _spareHeld = [];
    private readonly List<FrameOutbox> _round = [];
    private uint _generation;
    private int _threadId;
    private volatile bool _stopping;
    private volatile bool _ended;

    /// <summary>The last round's hint write-out failed on a bug, and was logged.</summary>
    private bool _hintWriteOutFailing;

    public RespLoop(StoreContext context, ILogger logger, int index)
    {
        _context = context;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "dataplane-store-loop " + index };
        _thread.Start();
    }

    /// <summary>The store the loop's clients share.</summary>
    public StoreContext Context => _context;

    /// <summary>
    /// Hands an accepted client to the loop (any thread); it is served from the next round on, or
    /// closed at once when the loop has ended (it failed).
    /// </summary>
    public void Add(Socket socket, long id)
    {
        _accepted.Enqueue((socket, id));
        _waiter.Wake();
        if (_ended)
        {
            CloseAccepted();
        }
    }

    /// <summary>Closes every client and ends the loop's thread (any thread); completes when it has.</summary>
    public Task StopAsync()
    {
        _stopping = true;
        _waiter.Wake();
        return _stopped.Task;
    }

    /// <summary>A client's fsync completed (any thread): the loop sends its held replies.</summary>
    internal void OnDurable(RespClient client)
    {
        _durable.Enqueue(client);
        _waiter.Wake();
    }

    /// <summary>
    /// The quorum operation a cluster node's client waits on is decided (any thread, usually a peer's
    /// receive loop): the loop writes the client's decided replies. However many clients are queued,
    /// one wake-up covers them until the loop takes it.
    /// </summary>
    internal void OnRepliesDecided(RespClient client)
    {
        _decided.Enqueue(client);
        if (Environment.CurrentManagedThreadId == _threadId)
        {
            return; // decided by a peer's reply this loop received: answered after this round's events, with no wake-up
        }

        _waiter.Wake();
    }

    /// <summary>Holds a client's replies until the log write at the end of this round (loop thread).</summary>
    internal void HoldForLog(RespClient client) => _heldForLog.Add(client);

    /// <summary>Forgets a closed client's slot (loop thread).</summary>
    internal void Release(int slot)
    {
        _clients[slot] = null;
        _freeSlots.Push(slot);
    }

    private void Run()
    {
        _threadId = Environment.CurrentManagedThreadId;
        try
        {
            while (!_stopping)
            {
                var count = _waiter.Wait(UntilTick());
                FrameOutbox.BeginRound(_round);
                _context.Cluster?.Hints.BeginRound();
                try
                {
                    for (var i = 0; i < count; i++)
                    {
                        var (data, events) = _waiter.Event(i);
                        if (data == EpollWaiter.WakeData)
                        {
                            RunQueued();
                        }
                        else if (IsPeer(data))
                        {
                            OnPeerEvent(data, events);
                        }
                        else if (_clients[(int)(data >> 32)] is { } client && client.Generation == (uint)data)
                        {
                            Guard(client, static (c, events) => c.OnEvent(events), events);
                        }
                    }

                    TickPeers();
                    RunDecided();
                    WriteLogAndRelease();
                    WriteHints();
                }
                finally
                {
                    // The round's frames to peers (a coordinator's requests, a replica's acknowledgements) leave now, one send per peer.
                    FrameOutbox.SendRound(_round);
                }
            }
        }
        catch (Exception e)
        {
            LogLoopFailed(_logger, e);
        }
        finally
        {
            // A round a bug ended did not write its hints.
            WriteHints();
            CloseAll();
            _stopped.TrySetResult();
        }
    }

    /// <summary>Runs a client's step; an unexpected failure costs only that client.</summary>
    private void Guard(RespClient client, Action<RespClient, uint> step, uint events)
    {
        try
        {
            step(client, events);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogClientFailed(_logger, e, client.Id);
            client.Close();
        }
    }

    /// <summary>
    /// One write of the log for every client of the round that wrote, then their replies. A client
    /// whose replies go out may execute more (its socket had more), so this repeats until none waits.
    /// </summary>
    private void WriteLogAndRelease()
    {
        while (_heldForLog.Count > 0)
        {
            var held = _heldForLog;
            _heldForLog = _spareHeld;
            _spareHeld = held;
            var written = _context.Replica.Wal.WriteOut();
            foreach (var client in held)
            {
                if (written)
                {
                    Guard(client, static (c, _) => c.ReleaseHeld(), 0);
                }
                else
                {
                    // The log refused the round's writes (a full disk): their clients are dropped
                    // unanswered, so none of them is acknowledged; later writes get an error reply.
                    client.Close();
                }
            }

            held.Clear();
        }
    }

    /// <summary>
    /// The hints kept this round, one write per node (see <c>HintStore.Kept.cs</c>). A bug there costs the loop
    /// nothing; it is logged once until a write-out succeeds, as every round tries again.
    /// </summary>
    private void WriteHints()
    {
        try
        {
            _context.Cluster?.Hints.WriteOut();
            _hintWriteOutFailing = false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (!_hintWriteOutFailing)
            {
                _hintWriteOutFailing = true;
                LogHintWriteOutFailed(_logger, e);
            }
        }
    }

    private void RunQueued()
    {
        _waiter.ClearWake();
        while (_accepted.TryDequeue(out var accepted))
        {
            Register(accepted.Socket, accepted.Id);
        }

        while (_durable.TryDequeue(out var client))
        {
            Guard(client, static (c, _) => c.OnDurable(), 0);
        }

        RunPeersQueued();
        while (_decided.TryDequeue(out var client))
        {
            Guard(client, static (c, _) => c.OnRepliesDecided(), 0);
        }
    }

    /// <summary>Answers the clients whose operations replies received this round decided.</summary>
    private void RunDecided()
    {
        while (_decided.TryDequeue(out var client))
        {
            Guard(client, static (c, _) => c.OnRepliesDecided(), 0);
        }
    }

    private void Register(Socket socket, long id)
    {
        if (!_freeSlots.TryPop(out var slot))
        {
            slot = _clients.Count;
            _clients.Add(null);
        }

        var generation = ++_generation;
        var client = new RespClient(this, socket, id, slot, generation);
        _clients[slot] = client;
        var fd = (int)socket.Handle;
        var error = EpollNative.SetNonBlocking(fd);
        if (error == 0 && EpollNative.Add(_waiter.Epoll, fd, ((ulong)(uint)slot << 32) | generation) != 0)
        {
            error = Marshal.GetLastPInvokeError();
        }

        if (error != 0)
        {
            LogRegisterFailed(_logger, error, id);
            client.Close();
        }
    }

    private void CloseAll()
    {
        // By index: closing a client empties its slot.
        for (var i = 0; i < _clients.Count; i++)
        {
            _clients[i]?.Close();
        }

        CloseAllPeers();

        // From here on Add closes what it queues itself: whichever of the two dequeues a client closes it.
        _ended = true;
        CloseAccepted();
        ClosePeersQueued();
        _waiter.Dispose();
    }

    private void CloseAccepted()
    {
        while (_accepted.TryDequeue(out var accepted))
        {
            accepted.Socket.Dispose();
            _context.Stats.Closed();
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "A RESP event loop failed; its clients are closed")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Connection {Id} ended with an error")]
    private static partial void LogClientFailed(ILogger logger, Exception exception, long id);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Connection {Id} could not join the event loop: errno {Errno}")]
    private static partial void LogRegisterFailed(ILogger logger, int errno, long id);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "A peer connection could not join the event loop: errno {Errno}")]
    private static partial void LogPeerRegisterFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "A peer connection failed on its event loop (a receive or its timeouts); it is closed and re-opened")]
    private static partial void LogPeerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 15, Level = LogLevel.Error, Message = "Writing the hints kept this round failed on a bug; the batches not reached are tried again each round, and this is not logged again until one succeeds")]
    private static partial void LogHintWriteOutFailed(ILogger logger, Exception exception);
}
