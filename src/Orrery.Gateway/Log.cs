using Microsoft.Extensions.Logging;
using Orrery.Core.Lifecycle;

namespace Orrery.Gateway;

/// <summary>Gateway log messages; event ids 4000–4099 (the SNI proxy uses 4100–4149).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Cluster {Cluster} created by {User}")]
    public static partial void ClusterCreated(this ILogger logger, string cluster, string user);

    [LoggerMessage(4001, LogLevel.Information, "Cluster {Cluster} is running, scheduler at {Address}")]
    public static partial void ClusterRunning(this ILogger logger, string cluster, string address);

    [LoggerMessage(4002, LogLevel.Information, "Cluster {Cluster} ended: {State}. {Reason}")]
    public static partial void ClusterEnded(this ILogger logger, string cluster, ResourceState state, string? reason);

    [LoggerMessage(4003, LogLevel.Warning, "Scheduler of cluster {Cluster} exited with status {ExitCode}: {Reason}")]
    public static partial void SchedulerEnded(this ILogger logger, string cluster, int? exitCode, string? reason);

    [LoggerMessage(4004, LogLevel.Warning, "Worker {Worker} of cluster {Cluster} failed to start: {Reason}")]
    public static partial void WorkerStartFailed(this ILogger logger, string cluster, string worker, string? reason);

    [LoggerMessage(4005, LogLevel.Debug, "Scheduler API of cluster {Cluster} unavailable: {Error}")]
    public static partial void SchedulerApiUnavailable(this ILogger logger, string cluster, string error);

    [LoggerMessage(4006, LogLevel.Information, "Cluster {Cluster} adapted to {Workers} workers")]
    public static partial void Adapted(this ILogger logger, string cluster, int workers);

    [LoggerMessage(4007, LogLevel.Error, "Reconciling cluster {Cluster} failed; retrying")]
    public static partial void ClusterPassFailed(this ILogger logger, string cluster, Exception exception);

    [LoggerMessage(4020, LogLevel.Warning, "Cluster {Cluster}: {Warning}")]
    public static partial void ClusterEnvironmentDiffers(this ILogger logger, string cluster, string warning);
}
