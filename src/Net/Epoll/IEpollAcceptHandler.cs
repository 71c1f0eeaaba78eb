namespace DataPlane.Net.Epoll;

/// <summary>What an <see cref="EpollListener"/> hands accepted descriptors to.</summary>
internal interface IEpollAcceptHandler
{
    /// <summary>
    /// Takes ownership of an accepted, non-blocking socket descriptor. Runs on the loop that accepted it:
    /// start the work and return at once, never block.
    /// </summary>
    /// <param name="fd">The accepted socket.</param>
    /// <param name="peer">The client's address as accept4 wrote it (a sockaddr_in or sockaddr_in6); valid during the call only.</param>
    /// <param name="loop">The index of the accepting loop (a pair on that loop serves it without a thread hop).</param>
    void OnAccepted(int fd, ReadOnlySpan<byte> peer, int loop);

    /// <summary>An accept failed with <paramref name="errno"/> (the listener goes on accepting on its next edge).</summary>
    void OnAcceptError(int errno);
}
