namespace DataPlane.Proxy;

/// <summary>The socket engine that connects upstreams and copies bytes.</summary>
public enum ProxyTransport
{
    /// <summary>
    /// Linux only, the default there: epoll loops of the proxy's own, edge-triggered, one receive and
    /// one send per chunk each way (the runtime's sockets spend a second receive that meets EAGAIN).
    /// </summary>
    Epoll,

    /// <summary>The runtime's asynchronous sockets and pipes; the default elsewhere.</summary>
    Sockets,
}
