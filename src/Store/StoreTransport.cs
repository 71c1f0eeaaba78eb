namespace DataPlane.Store;

/// <summary>How a node serves its clients' sockets.</summary>
public enum StoreTransport
{
    /// <summary>
    /// Linux only, the default there: epoll loops (one per two cores), each as Redis's event loop, that receives,
    /// executes against FASTER and sends the replies on its own thread: one receive and one send per
    /// request, no runtime socket engine and no thread pool on the request path.
    /// </summary>
    Epoll,

    /// <summary>The runtime's asynchronous sockets, one loop per connection; the default elsewhere.</summary>
    Sockets,
}
