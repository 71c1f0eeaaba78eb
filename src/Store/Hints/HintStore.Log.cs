using Microsoft.Extensions.Logging;

namespace DataPlane.Store.Hints;

internal sealed partial class HintStore
{
    [LoggerMessage(EventId = 54, Level = LogLevel.Warning, Message = "Writing {Count} hints for {Node} failed: not kept, and the next go to a new file (not logged again until one is written)")]
    private static partial void LogWriteFailed(ILogger logger, int count, string node, Exception exception);

    [LoggerMessage(EventId = 55, Level = LogLevel.Warning, Message = "Syncing the hint file of {Node} failed: the hints of its round are not kept, and the next go to a new file")]
    private static partial void LogSyncFailed(ILogger logger, string node, Exception exception);

    [LoggerMessage(EventId = 57, Level = LogLevel.Warning, Message = "Syncing the hints directory failed: the hints of new files in its round are not kept")]
    private static partial void LogDirectorySyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 58, Level = LogLevel.Warning, Message = "The hint writer was still in a sync {Seconds} s after closing began: left behind, and the hints it had not taken are refused")]
    private static partial void LogWriterStuck(ILogger logger, double seconds);

    [LoggerMessage(EventId = 56, Level = LogLevel.Critical, Message = "The hint writer failed: every hint is refused from now on, until the node restarts")]
    private static partial void LogWriterFailed(ILogger logger, Exception exception);
}
