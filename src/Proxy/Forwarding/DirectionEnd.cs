namespace DataPlane.Proxy.Forwarding;

/// <summary>How one copy direction of a connection stopped.</summary>
internal enum DirectionEnd
{
    /// <summary>Its FIN arrived and was passed on (or was, before a migration brought the pair here).</summary>
    Ended,

    /// <summary>Stopped at a quiet point for a migration: everything received was sent, both sockets untouched.</summary>
    Paused,

    /// <summary>A socket failed or was closed under it: the connection is being aborted.</summary>
    Failed,
}
