using Microsoft.Extensions.Logging;

namespace Orrery.Backends.Slurm;

/// <summary>Slurm backend log messages; event ids 3100–3199.</summary>
internal static partial class Log
{
    [LoggerMessage(3100, LogLevel.Information, "Resource {ResourceId} submitted to Slurm as job {JobId}")]
    public static partial void SlurmSubmitted(this ILogger logger, string resourceId, string jobId);
}
