using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Orrery.Storage;

/// <summary>Migrates the schema before anything else starts (registered first, so it runs first).</summary>
public sealed class StorageInitializer(IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await StorageModule.InitializeAsync(scope.ServiceProvider.GetRequiredService<OrreryDb>(), cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
