using Microsoft.Extensions.DependencyInjection;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Infrastructure;

public static class ServiceScopes
{
    public static AsyncServiceScope CreateAsyncScopeHelper(this IServiceProvider services) => services.CreateAsyncScope();

    public static OrreryDb Db(this AsyncServiceScope scope) => scope.ServiceProvider.GetRequiredService<OrreryDb>();
}
