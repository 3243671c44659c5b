using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Api;
using Orrery.Servers.Api;
using Orrery.Servers.Homes;
using Orrery.Servers.OAuth;
using Orrery.Servers.Pages;
using Orrery.Servers.Proxy;
using Orrery.Servers.Profiles;
using Orrery.Servers.Spawning;

namespace Orrery.Servers;

/// <summary>Personal servers: profiles, spawn and stop, progress, persistent homes, the user proxy, culling.</summary>
public static class ServersModule
{
    public static WebApplicationBuilder AddServersModule(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ServersOptions>().BindConfiguration(ServersOptions.SectionName);
        services.AddSingleton<ProfileCatalog>();
        services.AddSingleton<HomeDirectories>();
        services.AddSingleton<HubAddress>();
        services.AddSingleton<ServerEvents>();
        services.AddSingleton<ServerRoutes>();
        services.AddSingleton<ServerProbe>();
        services.AddSingleton<ServerReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerReconciler>());
        services.AddSingleton<ServerCuller>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerCuller>());
        services.AddScoped<ServerDriver>();
        services.AddScoped<ServerManager>();
        OAuthProvider.AddServices(services);
        UserProxy.AddServices(services);
        ServerPages.AddServices(services);
        return builder;
    }

    public static WebApplication MapServersModule(this WebApplication app)
    {
        // Fail at start, naming the bad profile setting, rather than at the first spawn.
        _ = app.Services.GetRequiredService<ProfileCatalog>();
        var orrery = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var api = app.MapGroup(orrery.HubPrefix + "api").AddEndpointFilter(new HubApiFilter(requireCaller: true));
        ServersApi.Map(api);
        var hub = app.MapGroup(orrery.HubPrefix.TrimEnd('/'));
        OAuthProvider.Map(hub);
        ServerPages.Map(hub);
        UserProxy.Map(app);
        return app;
    }
}
