namespace DataPlane.Net;

/// <summary>Something that accepts on a listening socket it does not own: the runtime's <see cref="AcceptLoop"/> or the epoll loops' listener.</summary>
internal interface IAcceptor : IDisposable
{
    /// <summary>Whether it was started and not stopped.</summary>
    bool IsRunning { get; }

    /// <summary>Starts accepting.</summary>
    void Start();

    /// <summary>Stops accepting and waits until no accept is in progress; the listening socket stays open and intact.</summary>
    Task StopAsync();
}
