namespace DataPlane.Net.Epoll;

/// <summary>What an <see cref="EpollListener"/> hands accepted descriptors to.</summary>
internal interface IEpollAcceptHandler
{
    /// <summary>
    /// Takes ownership of an accepted, non-blocking socket descriptor. Runs on the loop that accepted it:
    /// start the work and return at once, never block. If it throws, it did not take the descriptor: the
    /// listener closes it and reports the exception to <see cref="OnAcceptFailed"/>.
    /// </summary>
    /// <param name="fd">The accepted socket.</param>
    /// <param name="peer">The client's address as accept4 wrote it (a sockaddr_in or sockaddr_in6); valid during the call only.</param>
    /// <param name="loop">The index of the accepting loop (a pair on that loop serves it without a thread hop).</param>
    void OnAccepted(int fd, ReadOnlySpan<byte> peer, int loop);

    /// <summary>
    /// An accept failed with <paramref name="errno"/>: out of descriptors or memory (EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM), the listener pauses and tries again shortly; otherwise it goes on at its next edge.
    /// Runs on a loop thread; called once per failed accept, so it may be called often while it lasts.
    /// </summary>
    void OnAcceptError(int errno);

    /// <summary><see cref="OnAccepted"/> threw <paramref name="error"/>; the descriptor was closed and accepting goes on.</summary>
    void OnAcceptFailed(Exception error);
}
