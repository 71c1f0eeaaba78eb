namespace DataPlane.Store.Protocol.Internode;

/// <summary>A connection an <see cref="IPeerLoop"/> receives on: touched only on the loop's thread once adopted.</summary>
internal interface ILoopConnection
{
    /// <summary>The socket's descriptor, for the loop's epoll; valid only while the connection is open.</summary>
    int Fd { get; }

    /// <summary>The loop's tag for this connection's events.</summary>
    ulong Tag { get; set; }

    /// <summary>Whether <see cref="Close"/> ran.</summary>
    bool IsClosed { get; }

    /// <summary>An edge on the socket; false when the connection ended and the loop should close it.</summary>
    bool OnEvent(uint events);

    /// <summary>Closes the socket (the loop's thread, or the only owner once the loop has ended); idempotent.</summary>
    void Close();

    /// <summary>Whether the connection has a timer for the loop to run (<see cref="Tick"/>).</summary>
    bool Ticks { get; }

    /// <summary>
    /// The loop's timer, on its thread, every <see cref="PeerClient.SweepInterval"/> while the connection
    /// is adopted, if it <see cref="Ticks"/>: a peer client's requests time out here, as Redis's connections
    /// do in its cron and Envoy's on their dispatcher, instead of on a timer that wakes a pool thread.
    /// </summary>
    void Tick();
}
