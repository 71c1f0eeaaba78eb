namespace DataPlane.Proxy.Tests;

/// <summary>The forwarding behaviours on the epoll transport (Linux's default).</summary>
public sealed class EpollForwardingTests : ForwardingTests
{
    private protected override ProxyTransport Transport => ProxyTransport.Epoll;
}
