using Microsoft.Extensions.Logging;

namespace Orrery.Environments;

internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Environment {Name} ({ContentId}) of user {OwnerId}: building")]
    public static partial void BuildStarted(this ILogger logger, string name, string contentId, long ownerId);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Environment {Name} ({ContentId}): same content already built, no rebuild")]
    public static partial void CacheHit(this ILogger logger, string name, string contentId);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Environment {ContentId}: built")]
    public static partial void Built(this ILogger logger, string contentId);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Environment {ContentId}: build failed in step {Step}")]
    public static partial void BuildFailed(this ILogger logger, string contentId, string step);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Error, Message = "Environment builds: a pass failed")]
    public static partial void PassFailed(this ILogger logger, Exception exception);
}
