using Microsoft.Extensions.Logging;

namespace Orrery.Backends.Podman;

/// <summary>Podman backend log messages; event ids 3200–3299.</summary>
internal static partial class Log
{
    [LoggerMessage(3200, LogLevel.Information, "Resource {ResourceId} runs as container {ContainerId} (image {Image})")]
    public static partial void Launched(this ILogger logger, string resourceId, string containerId, string image);

    [LoggerMessage(3201, LogLevel.Warning, "Rejected podman launch of {ResourceId}: {Error}")]
    public static partial void LaunchRejected(this ILogger logger, string resourceId, string error);

    [LoggerMessage(3202, LogLevel.Warning, "A container named {Name} was left by an earlier launch of the same resource; removed it")]
    public static partial void RemovedLeftover(this ILogger logger, string name);

    [LoggerMessage(3203, LogLevel.Warning, "podman inspect of container {ContainerId} failed: {Error}")]
    public static partial void InspectFailed(this ILogger logger, string containerId, string error);

    [LoggerMessage(3204, LogLevel.Information, "Stopping container {ContainerId}: SIGTERM, SIGKILL after {Grace}")]
    public static partial void Stopping(this ILogger logger, string containerId, TimeSpan grace);

    [LoggerMessage(3205, LogLevel.Warning, "podman stop of container {ContainerId} failed: {Error}")]
    public static partial void StopFailed(this ILogger logger, string containerId, string error);

    [LoggerMessage(3206, LogLevel.Warning, "podman rm of container {ContainerId} failed: {Error}")]
    public static partial void RemoveFailed(this ILogger logger, string containerId, string error);

    [LoggerMessage(3207, LogLevel.Warning, "Unreadable podman backend handle {Value}")]
    public static partial void UnreadableHandle(this ILogger logger, string value);

    [LoggerMessage(3208, LogLevel.Warning, "Not deleting {Directory}: it is not a resource directory under the state directory {StateDir}")]
    public static partial void ForgetRefused(this ILogger logger, string directory, string stateDir);

    [LoggerMessage(3211, LogLevel.Warning, "Could not delete the resource directory {Directory}: {Error}")]
    public static partial void ForgetFailed(this ILogger logger, string directory, string error);

    [LoggerMessage(3209, LogLevel.Warning, "Following podman events failed ({Error}); container ends are seen at the next observation until it restarts")]
    public static partial void EventsFailed(this ILogger logger, string error);

    [LoggerMessage(3210, LogLevel.Warning, "podman events ended with status {ExitCode}: {Error}; restarting it")]
    public static partial void EventsEnded(this ILogger logger, int exitCode, string error);
}
