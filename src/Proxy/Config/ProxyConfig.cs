using System.Net;

namespace DataPlane.Proxy.Config;

/// <summary>A whole proxy configuration: the admin endpoint and the listeners, each with its cluster.</summary>
internal sealed record ProxyConfig(IPEndPoint? Admin, IReadOnlyList<ProxyOptions> Listeners);
