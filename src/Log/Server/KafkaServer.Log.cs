using Microsoft.Extensions.Logging;

namespace DataPlane.Log.Server;

public sealed partial class KafkaServer
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Accepting a connection failed")]
    private static partial void LogAcceptError(ILogger logger, Exception error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Closed the connection from {Remote}: {Reason}")]
    internal static partial void LogProtocolError(ILogger logger, string? remote, string reason);
}
