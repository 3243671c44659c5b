using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Ownership;
using Orrery.Gateway.Api;
using Orrery.Gateway.Clusters;
using Orrery.Gateway.Proxy;
using Orrery.Hub.Pages;

namespace Orrery.Gateway;

/// <summary>Dask clusters on demand: the dask-gateway API, the cluster reconciler, the SNI and dashboard proxies.</summary>
public static class GatewayModule
{
    public static WebApplicationBuilder AddGatewayModule(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.SectionName)
            .Validate(o => { ClusterOptionsSpec.CheckConfiguration(o); return true; })
            .ValidateOnStart();
        services.TryAddSingleton<ClusterRoutes>();
        services.AddSingleton<ClusterSignals>();
        services.AddSingleton<ClusterMemory>();
        services.AddSingleton<GatewayAuth>();
        services.AddSingleton<ClusterReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterReconciler>());
        services.AddScoped<ClusterDriver>();
        services.AddScoped<WorkerScaler>();
        services.AddScoped<ClusterLimiter>();
        services.AddScoped<IServerDependents, ServerOwnedClusters>();
        // Retiring workers moves their data first, which can take a while.
        services.AddHttpClient<SchedulerApi>(http => http.Timeout = TimeSpan.FromMinutes(5));
        return builder;
    }

    public static WebApplication MapGatewayModule(this WebApplication app)
    {
        var orrery = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var gateway = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var prefix = orrery.ServicePrefix(gateway.ServiceName).TrimEnd('/');
        var open = app.MapGroup(prefix);
        var api = app.MapGroup(prefix).AddEndpointFilter<GatewayAuthFilter>();
        ClustersApi.Map(open, api);
        ClustersPage.Map(open);
        DashboardProxy.Map(open);
        app.Services.GetRequiredService<HubNavigation>().Add("Clusters", prefix + "/");
        return app;
    }
}
