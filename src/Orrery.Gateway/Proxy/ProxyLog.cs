using System.Net;
using Microsoft.Extensions.Logging;

namespace Orrery.Gateway.Proxy;

/// <summary>Scheduler SNI proxy log messages; event ids 4100–4149.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(4100, LogLevel.Debug, "Connection {ConnectionId}: proxying TLS for cluster {Cluster} to its scheduler at {Scheduler}")]
    public static partial void Proxying(this ILogger logger, string connectionId, string cluster, IPEndPoint scheduler);

    [LoggerMessage(4101, LogLevel.Information, "Connection {ConnectionId}: no route for cluster {Cluster}; closed")]
    public static partial void UnknownCluster(this ILogger logger, string connectionId, string cluster);

    [LoggerMessage(4102, LogLevel.Information, "Connection {ConnectionId}: could not connect to the scheduler of cluster {Cluster} at {Scheduler}: {Reason}; closed")]
    public static partial void SchedulerUnreachable(this ILogger logger, string connectionId, string cluster, IPEndPoint scheduler, string reason);

    [LoggerMessage(4103, LogLevel.Debug, "Connection {ConnectionId}: malformed TLS ClientHello; closed")]
    public static partial void MalformedHello(this ILogger logger, string connectionId);

    [LoggerMessage(4104, LogLevel.Debug, "Connection {ConnectionId}: no complete first bytes within {Timeout}; closed")]
    public static partial void FirstBytesTimedOut(this ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(4105, LogLevel.Debug, "Connection {ConnectionId}: closed before sending a complete first record")]
    public static partial void ClosedEarly(this ILogger logger, string connectionId);

    [LoggerMessage(4106, LogLevel.Debug, "Connection {ConnectionId}: proxy for cluster {Cluster} finished, {ToScheduler} bytes to the scheduler, {ToClient} bytes to the client")]
    public static partial void Finished(this ILogger logger, string connectionId, string cluster, long toScheduler, long toClient);

    [LoggerMessage(4107, LogLevel.Debug, "Connection {ConnectionId}: proxy for cluster {Cluster} broken off: {Reason}")]
    public static partial void BrokenOff(this ILogger logger, string connectionId, string cluster, string reason);

    [LoggerMessage(4108, LogLevel.Debug, "Connection {ConnectionId}: failed while reading the first bytes: {Reason}")]
    public static partial void PeekFailed(this ILogger logger, string connectionId, string reason);
}
