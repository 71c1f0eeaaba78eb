using System.Net;
using DataPlane.Proxy.Upstreams;
using Microsoft.Extensions.Logging;

namespace DataPlane.Proxy;

/// <summary>Log events of a listener (stable event ids 100-199).</summary>
public sealed partial class ProxyServer
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listener {Name} accepting on {EndPoint}: {Count} upstreams, policy {Policy}")]
    private partial void LogStarted(string name, IPEndPoint endPoint, int count, BalancingPolicy policy);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Listener {Name} reconfigured: {Count} upstreams, policy {Policy}")]
    private partial void LogReconfigured(string name, int count, BalancingPolicy policy);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Listener {Name} stopped accepting; draining {Count} connections")]
    private partial void LogDraining(string name, int count);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Listener {Name}: drain time over, closed {Count} connections")]
    private partial void LogDrainAborted(string name, int count);

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Listener {Name}: closed {Count} idle connections")]
    private partial void LogIdleClosed(string name, int count);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Listener {Name}: upstream {Upstream} failed: {Cause}")]
    private partial void LogConnectFailed(string name, string upstream, ConnectFailure cause);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Listener {Name}: accept failed")]
    private partial void LogAcceptError(string name, Exception error);

    [LoggerMessage(EventId = 107, Level = LogLevel.Error, Message = "Listener {Name}: unexpected error on a connection")]
    private partial void LogUnexpected(string name, Exception error);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Listener {Name}: {Call} failed with errno {Errno} ({Count} so far)")]
    private partial void LogResourceError(string name, string call, int errno, long count);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "Listener {Name}: upstream {Upstream}'s circuit breaker opened ({Cause}); no new connection for {OpenFor}, then trial connections")]
    private partial void LogBreakerOpened(string name, string upstream, ConnectFailure cause, TimeSpan openFor);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Listener {Name}: upstream {Upstream} ejected (ejection {Count}) for {For}")]
    private partial void LogEjected(string name, string upstream, int count, TimeSpan @for);
}
