namespace DataPlane.Store.Protocol.Internode;

/// <summary>A peer did not answer a request within its timeout (or no in-flight slot freed up in time).</summary>
internal sealed class PeerTimeoutException(string peer, TimeSpan timeout) : IOException($"peer {peer} did not answer within {timeout.TotalMilliseconds:F0} ms");
