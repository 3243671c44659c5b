using Microsoft.Extensions.Logging;

namespace Orrery.Servers;

/// <summary>Personal server log messages; event ids 5000–5099.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Server {Server} is ready after {Elapsed}")]
    public static partial void ServerReady(this ILogger logger, string server, TimeSpan elapsed);

    [LoggerMessage(5001, LogLevel.Information, "Server {Server} is stopping: {Reason}")]
    public static partial void ServerStopping(this ILogger logger, string server, string reason);

    [LoggerMessage(5002, LogLevel.Information, "Server {Server} stopped: {Reason}")]
    public static partial void ServerStopped(this ILogger logger, string server, string reason);

    [LoggerMessage(5003, LogLevel.Warning, "Server {Server} failed: {Reason}")]
    public static partial void ServerFailed(this ILogger logger, string server, string reason);

    [LoggerMessage(5004, LogLevel.Error, "Reconciling server {Server} failed; will retry")]
    public static partial void ServerPassFailed(this ILogger logger, string server, Exception exception);

    [LoggerMessage(5005, LogLevel.Information, "Culling server {Server}: {Reason}")]
    public static partial void Culling(this ILogger logger, string server, string reason);
}
