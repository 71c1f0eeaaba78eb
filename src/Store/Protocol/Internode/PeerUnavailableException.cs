namespace DataPlane.Store.Protocol.Internode;

/// <summary>A request could not reach its peer: no connection, or the connection was lost before the reply.</summary>
internal sealed class PeerUnavailableException(string peer) : IOException($"peer {peer} is unavailable");
