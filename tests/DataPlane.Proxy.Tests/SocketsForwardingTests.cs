namespace DataPlane.Proxy.Tests;

/// <summary>The forwarding behaviours on the runtime's sockets (the default off Linux).</summary>
public sealed class SocketsForwardingTests : ForwardingTests
{
    private protected override ProxyTransport Transport => ProxyTransport.Sockets;
}
