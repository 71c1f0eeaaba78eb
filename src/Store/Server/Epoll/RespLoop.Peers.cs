using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using DataPlane.Net.Epoll;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Server.Epoll;

/// <summary>
/// A cluster node's loop receives its internode connections too (<see cref="IPeerLoop"/>): the reply
/// that decides a quorum operation completes it on this thread, and the client waiting on it is
/// answered in the same round; a peer's writes are applied here. Internode connections are tagged
/// apart from clients by the tag's top bit.
/// </summary>
internal sealed partial class RespLoop : IPeerLoop
{
    private const ulong PeerTag = 1UL << 63;

    /// <summary>How often the loop runs its peer connections' timers (<see cref="ILoopConnection.Tick"/>) while any has one.</summary>
    private static readonly int TickMilliseconds = (int)PeerClient.SweepInterval.TotalMilliseconds;

    private readonly ConcurrentQueue<ILoopConnection> _peerAdds = new();
    private readonly ConcurrentQueue<ILoopConnection> _peerDrops = new();
    private readonly List<ILoopConnection?> _peers = [];
    private long _nextTick;
    private int _tickers;

    public bool TryAdopt(ILoopConnection receiver)
    {
        if (_ended)
        {
            return false;
        }

        _peerAdds.Enqueue(receiver);
        _waiter.Wake();
        if (_ended)
        {
            // Whichever of the two dequeues it closes it; its connection then ends as if the peer had closed it.
            ClosePeersQueued();
        }

        return true;
    }

    public void Drop(ILoopConnection receiver)
    {
        _peerDrops.Enqueue(receiver);
        _waiter.Wake();
        if (_ended)
        {
            ClosePeersQueued();
        }
    }

    private static bool IsPeer(ulong data) => (data & PeerTag) != 0;

    private void OnPeerEvent(ulong data, uint events)
    {
        var index = (int)((data & ~PeerTag) >> 32);
        if (index < _peers.Count && _peers[index] is { } receiver && receiver.Tag == data && !ReceiveGuarded(receiver, events))
        {
            ClosePeer(index);
        }
    }

    /// <summary>Receives a peer's replies; an unexpected failure costs only that connection (it is re-opened), not the loop's clients.</summary>
    private bool ReceiveGuarded(ILoopConnection receiver, uint events)
    {
        try
        {
            return receiver.OnEvent(events);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogPeerFailed(_logger, e);
            return false;
        }
    }

    /// <summary>How long the loop may sleep: until the next tick is due while a connection has a timer, otherwise until an event.</summary>
    private int UntilTick() => _tickers == 0 ? -1 : (int)Math.Clamp(_nextTick - Environment.TickCount64, 0, TickMilliseconds);

    /// <summary>
    /// Every <see cref="TickMilliseconds"/> (by the coarse clock, read once a round), the peer connections'
    /// timers (<see cref="ILoopConnection.Tick"/>), within the round: what they decide is answered with it.
    /// </summary>
    private void TickPeers()
    {
        if (_tickers == 0)
        {
            return;
        }

        var now = Environment.TickCount64;
        if (now < _nextTick)
        {
            return;
        }

        _nextTick = now + TickMilliseconds;
        for (var i = 0; i < _peers.Count; i++)
        {
            if (_peers[i] is not { Ticks: true } receiver)
            {
                continue;
            }

            try
            {
                receiver.Tick();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // As a failed receive: the connection is closed and re-opened, which fails what it had in flight.
                LogPeerFailed(_logger, e);
                ClosePeer(i);
            }
        }
    }

    private void RunPeersQueued()
    {
        while (_peerAdds.TryDequeue(out var receiver))
        {
            RegisterPeer(receiver);
        }

        while (_peerDrops.TryDequeue(out var receiver))
        {
            var index = _peers.IndexOf(receiver);
            if (index >= 0)
            {
                ClosePeer(index);
            }
            else
            {
                // Not registered (yet, or any more): closing twice is harmless, and one queued for adding is closed when it is added.
                receiver.Close();
            }
        }
    }

    private void RegisterPeer(ILoopConnection receiver)
    {
        if (receiver.IsClosed)
        {
            // Dropped before the loop took it: its fd number may be another file's by now.
            return;
        }

        var index = _peers.IndexOf(null);
        if (index < 0)
        {
            index = _peers.Count;
            _peers.Add(null);
        }

        receiver.Tag = PeerTag | ((ulong)(uint)index << 32) | ++_generation;
        _peers[index] = receiver;
        if (receiver.Ticks)
        {
            _tickers++;
        }

        if (EpollNative.Add(_waiter.Epoll, receiver.Fd, receiver.Tag) != 0)
        {
            LogPeerRegisterFailed(_logger, Marshal.GetLastPInvokeError());
            ClosePeer(index);
            return;
        }

        // Replies that came before the registration raised their edge already: take them now.
        if (!ReceiveGuarded(receiver, 0))
        {
            ClosePeer(index);
        }
    }

    private void ClosePeer(int index)
    {
        var receiver = _peers[index];
        _peers[index] = null;
        if (receiver is { Ticks: true })
        {
            _tickers--;
        }

        receiver?.Close();
    }

    private void CloseAllPeers()
    {
        for (var i = 0; i < _peers.Count; i++)
        {
            ClosePeer(i);
        }
    }

    private void ClosePeersQueued()
    {
        while (_peerAdds.TryDequeue(out var receiver))
        {
            receiver.Close();
        }

        while (_peerDrops.TryDequeue(out var receiver))
        {
            receiver.Close();
        }
    }
}
