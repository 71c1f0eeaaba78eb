using System.Net.Sockets;

namespace DataPlane.Net;

/// <summary>What an <see cref="AcceptLoop"/> hands accepted sockets to.</summary>
internal interface IConnectionDispatcher
{
    /// <summary>Takes ownership of an accepted socket. Runs on the accept loop: start the work and return at once.</summary>
    void OnAccepted(Socket socket);

    /// <summary>An accept failed; transient errors are followed by more accepts, others end the loop.</summary>
    void OnAcceptError(Exception error);
}
