namespace DataPlane.Net.Epoll;

/// <summary>How an <see cref="EpollPair"/>'s forward ended.</summary>
internal enum PairResult
{
    /// <summary>Both directions ended with a FIN, each passed on; the owner's close sends the last one.</summary>
    Completed,

    /// <summary>The client reset the connection (or failed a send with a reset): reset the upstream too.</summary>
    ClientReset,

    /// <summary>The upstream reset the connection: reset the client too (and count it against the upstream).</summary>
    UpstreamReset,

    /// <summary>A socket failed otherwise.</summary>
    Failed,

    /// <summary>The owner aborted it (idle timeout, drain deadline, shutdown).</summary>
    Aborted,

    /// <summary>Stopped at a quiet point as asked: all received was sent, the sockets are untouched.</summary>
    Paused,
}
