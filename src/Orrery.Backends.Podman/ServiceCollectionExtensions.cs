using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orrery.Core.Compute;

namespace Orrery.Backends.Podman;

public static class PodmanBackendServiceCollectionExtensions
{
    /// <summary>Registers <see cref="PodmanBackend"/> as one of the <see cref="IComputeBackend"/>s, chosen by the name "podman".</summary>
    public static IServiceCollection AddPodmanBackend(this IServiceCollection services)
    {
        services.AddOptions<PodmanBackendOptions>().BindConfiguration(PodmanBackendOptions.SectionName);
        // TryAddEnumerable: calling this twice must not register the backend twice in the collection.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IComputeBackend, PodmanBackend>());
        return services;
    }
}
