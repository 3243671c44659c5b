using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Environments;
using Orrery.Environments.Api;
using Orrery.Environments.Building;
using Orrery.Environments.Pages;
using Orrery.Environments.Using;
using Orrery.Hub.Pages;

namespace Orrery.Environments;

/// <summary>Environments: specs built once (a virtual environment or a container image) and used by servers, clusters and jobs.</summary>
public static class EnvironmentsModule
{
    public static WebApplicationBuilder AddEnvironmentsModule(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EnvironmentsOptions>().BindConfiguration(EnvironmentsOptions.SectionName)
            .Validate(o => ByteSizes.Parse(o.MaxBundleSize) is > 0, "Orrery:Environments:MaxBundleSize must be a size such as 100M.")
            .Validate(o => Path.IsPathFullyQualified(o.HostPython), "Orrery:Environments:HostPython must be an absolute path.")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var root = sp.GetRequiredService<IOptions<EnvironmentsOptions>>().Value.Root;
            return new EnvironmentFiles(root.Length > 0 ? root : Path.Combine(sp.GetRequiredService<IOptions<OrreryOptions>>().Value.DataDir, "environments"));
        });
        services.AddScoped<EnvironmentService>();
        services.AddScoped<EnvironmentRemoval>();
        services.AddScoped<IEnvironments, EnvironmentCatalog>();
        services.AddSingleton<BuildReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<BuildReconciler>());
        return builder;
    }

    public static WebApplication MapEnvironmentsModule(this WebApplication app)
    {
        var orrery = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var prefix = orrery.ServicePrefix(app.Services.GetRequiredService<IOptions<EnvironmentsOptions>>().Value.ServiceName).TrimEnd('/');
        app.MapGet(prefix + "/", EnvironmentsPage.Show);
        EnvironmentsApi.Map(app.MapGroup(prefix + "/api/v1/environments").AddEndpointFilter(new EnvironmentsAuthFilter()));
        app.Services.GetRequiredService<HubNavigation>().Add("Environments", prefix + "/");
        return app;
    }
}
