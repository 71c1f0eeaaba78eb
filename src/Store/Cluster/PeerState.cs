using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Cluster;

/// <summary>What this node knows of one peer: its connection, when it was last heard from, whether it is suspected.</summary>
internal sealed class PeerState(int index, PeerClient client)
{
    private long _lastHeard;
    private int _suspected = 1;
    private int _delivering;
    private long _suspicions;

    public int Index { get; } = index;

    public PeerClient Client { get; } = client;

    public string Name => Client.Name;

    /// <summary>Suspected peers are skipped in preference lists; a peer starts suspected until its first handshake.</summary>
    public bool Suspected => Volatile.Read(ref _suspected) != 0;

    public long LastHeard => Volatile.Read(ref _lastHeard);

    /// <summary>Records life; true if this cleared a suspicion.</summary>
    public bool Hear(long timestamp)
    {
        Volatile.Write(ref _lastHeard, timestamp);
        return Interlocked.Exchange(ref _suspected, 0) != 0;
    }

    /// <summary>How many times this peer went from up to suspected.</summary>
    public long Suspicions => Interlocked.Read(ref _suspicions);

    /// <summary>Marks the peer suspected; true if it was not already.</summary>
    public bool Suspect()
    {
        if (Interlocked.Exchange(ref _suspected, 1) != 0)
        {
            return false;
        }

        Interlocked.Increment(ref _suspicions);
        return true;
    }

    /// <summary>Claims the single hint delivery of this peer; false if one is running.</summary>
    public bool TryBeginDelivery() => Interlocked.CompareExchange(ref _delivering, 1, 0) == 0;

    public void EndDelivery() => Volatile.Write(ref _delivering, 0);
}
