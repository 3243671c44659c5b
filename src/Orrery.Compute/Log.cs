using Microsoft.Extensions.Logging;
using Orrery.Core.Lifecycle;

namespace Orrery.Compute;

/// <summary>Compute log messages; event ids 2000–2099.</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Launched {Resource} on backend {Backend}")]
    public static partial void Launched(this ILogger logger, string resource, string backend);

    [LoggerMessage(2001, LogLevel.Information, "{Resource} ended: {State}, exit status {ExitCode}, {Reason}")]
    public static partial void Ended(this ILogger logger, string resource, ResourceState state, int? exitCode, string? reason);

    [LoggerMessage(2002, LogLevel.Error, "A reconcile pass failed; retrying at the next interval")]
    public static partial void ReconcileFailed(this ILogger logger, Exception exception);
}
