using Microsoft.Extensions.Logging;

namespace Orrery.Jobs;

/// <summary>Batch job log messages; event ids 6000–6099.</summary>
internal static partial class Log
{
    [LoggerMessage(6000, LogLevel.Error, "Reconciling job {Job} failed; will retry")]
    public static partial void JobPassFailed(this ILogger logger, string job, Exception exception);

    [LoggerMessage(6001, LogLevel.Information, "Job {Job} finished: {Outcome}")]
    public static partial void JobFinished(this ILogger logger, string job, string outcome);

    [LoggerMessage(6002, LogLevel.Information, "Job {Job}: attempt {Attempt} failed (exit {ExitCode}); retrying (backoff limit {Limit})")]
    public static partial void JobRetrying(this ILogger logger, string job, int attempt, int limit, int? exitCode);

    [LoggerMessage(6003, LogLevel.Information, "Job {Job} removed: {Why}")]
    public static partial void JobRemoved(this ILogger logger, string job, string why);

    [LoggerMessage(6004, LogLevel.Error, "Cron pass failed; will retry")]
    public static partial void CronPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(6005, LogLevel.Information, "Cron job {CronJob}: {What}")]
    public static partial void CronRun(this ILogger logger, string cronJob, string what);
}
