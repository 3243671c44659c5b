using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orrery.Core.Compute;

namespace Orrery.Backends.Local;

public static class LocalBackendServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LocalProcessBackend"/> as one of the <see cref="IComputeBackend"/>s (chosen by name)
    /// with its options bound from <see cref="LocalBackendOptions.SectionName"/>.
    /// </summary>
    public static IServiceCollection AddLocalBackend(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<LocalBackendOptions>().BindConfiguration(LocalBackendOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        // TryAddEnumerable: calling this twice must not register the backend twice in the collection.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IComputeBackend, LocalProcessBackend>());
        return services;
    }
}
