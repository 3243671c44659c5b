using Microsoft.Extensions.DependencyInjection;

namespace Orrery.Compute;

public static class ComputeModule
{
    /// <summary>The resource reconciler and the service modules use to request and stop compute.</summary>
    public static IServiceCollection AddCompute(this IServiceCollection services)
    {
        services.AddOptions<ComputeOptions>().BindConfiguration(ComputeOptions.SectionName);
        services.AddSingleton<ComputeBackends>();
        services.AddSingleton<UserLocks>();
        services.AddSingleton<ComputeReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<ComputeReconciler>());
        services.AddScoped<ComputeService>();
        return services;
    }
}
