namespace DataPlane.Net;

/// <summary>How a <see cref="SocketPump"/> loop ended.</summary>
internal enum PumpResult
{
    /// <summary>The stream ended cleanly: a FIN was received, or passed on with a shutdown of the sending half.</summary>
    Completed,

    /// <summary>The peer reset the connection (RST): the other side should be reset too.</summary>
    Reset,

    /// <summary>A socket failed otherwise, was closed under the loop, or the other loop gave up.</summary>
    Aborted,

    /// <summary>The loop's token was cancelled; the socket is untouched and usable.</summary>
    Cancelled,
}
