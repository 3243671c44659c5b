using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// Kestrel's transport for TCP endpoints with the dask_gateway scheduler proxy in front (protocol notes §5.3, §5.6).
/// Scheduler connections never enter Kestrel: Kestrel's socket transport reads at most a few KiB per receive and
/// copies through pipes, which costs a bulk Dask transfer about a third of its throughput. So this transport accepts
/// connections itself, peeks at the first bytes, relays scheduler TLS socket to socket, and hands every other
/// connection, untouched, to Kestrel's own socket connection type.
/// </summary>
internal sealed class SniProxyTransport(
    ClusterRoutes routes, IOptions<SniProxyOptions> options, TimeProvider time, ILoggerFactory loggers)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>Unix sockets and named pipes stay with Kestrel's default transports.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
            throw new NotSupportedException($"The scheduler proxy transport binds TCP endpoints only, not {endpoint}.");
        var problems = options.Value.Validate().ToList();
        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join(" ", problems));
        var router = new SniRouter(routes, options.Value, time, loggers.CreateLogger<SniRouter>());
        return new(SniProxyListener.Bind(ip, router, loggers));
    }
}

public static class SniProxyTransportRegistration
{
    /// <summary>
    /// Makes the scheduler SNI proxy share every TCP endpoint: TLS with SNI <c>daskgateway-&lt;cluster&gt;</c> goes
    /// to the cluster's scheduler, everything else to Kestrel unchanged. Kestrel tries transports last-registered
    /// first, so this one wins for IP endpoints.
    /// </summary>
    public static IServiceCollection AddDaskSniProxy(this IServiceCollection services)
    {
        services.TryAddSingleton<ClusterRoutes>();
        services.AddOptions<SniProxyOptions>().BindConfiguration(SniProxyOptions.SectionName);
        services.AddSingleton<IConnectionListenerFactory, SniProxyTransport>();
        return services;
    }
}
