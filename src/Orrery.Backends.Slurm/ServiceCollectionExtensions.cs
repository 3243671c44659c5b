using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orrery.Core.Compute;

namespace Orrery.Backends.Slurm;

public static class SlurmBackendServiceCollectionExtensions
{
    /// <summary>Registers <see cref="SlurmBackend"/> as one of the <see cref="IComputeBackend"/>s, chosen by the name "slurm".</summary>
    public static IServiceCollection AddSlurmBackend(this IServiceCollection services)
    {
        services.AddOptions<SlurmBackendOptions>().BindConfiguration(SlurmBackendOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IComputeBackend, SlurmBackend>());
        return services;
    }
}
