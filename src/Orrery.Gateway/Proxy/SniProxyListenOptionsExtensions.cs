using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Orrery.Gateway.Proxy;

public static class SniProxyListenOptionsExtensions
{
    /// <summary>
    /// Puts the dask_gateway scheduler SNI proxy in front of this endpoint: TLS connections with SNI
    /// <c>daskgateway-&lt;cluster&gt;</c> are passed through to the cluster's scheduler, everything else reaches
    /// the endpoint's other middleware (HTTP) unchanged. Needs <see cref="ClusterRoutes"/> and
    /// <see cref="SniProxyOptions"/> registered; add it before any <c>UseHttps</c>.
    /// </summary>
    public static ListenOptions UseDaskSniProxy(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var services = listen.ApplicationServices;
        var options = services.GetRequiredService<IOptions<SniProxyOptions>>().Value;
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join(" ", problems));
        var middleware = new SniProxyMiddleware(
            services.GetRequiredService<ClusterRoutes>(),
            options,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetRequiredService<ILoggerFactory>().CreateLogger<SniProxyMiddleware>());
        listen.Use(next => context => middleware.OnConnectionAsync(context, next));
        return listen;
    }
}
