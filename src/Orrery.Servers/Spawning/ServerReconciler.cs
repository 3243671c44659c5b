using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Lifecycle;
using Orrery.Storage;

namespace Orrery.Servers.Spawning;

/// <summary>
/// The only code acting on personal servers: one pass over every unfinished server, one server at a time, through
/// <see cref="ServerDriver"/>. Requests wake it; while a server is starting it passes every 100 ms so readiness is
/// seen quickly. Everything it needs is in the database, so after an Orrery restart it re-attaches running
/// servers and restores their routes on its first pass.
/// </summary>
public sealed class ServerReconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServersOptions> options,
    ILogger<ServerReconciler> logger, ComputeReconciler compute) : ReconcileLoop(time)
{
    /// <summary>Looks as soon as a resource changes state (a process ended, a launch ran), not at the next interval.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        compute.ResourcesChanged += Wake;
        return base.StartAsync(cancellationToken);
    }

    private static readonly TimeSpan StartingPollInterval = TimeSpan.FromMilliseconds(100);

    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken) =>
        await ReconcileAllAsync(cancellationToken) ? StartingPollInterval : options.Value.ReconcileInterval;

    protected override void PassFailed(Exception exception) => logger.ServerPassFailed("(listing)", exception);

    private async Task<bool> ReconcileAllAsync(CancellationToken cancellationToken)
    {
        List<long> ids;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
            ids = await db.Servers.Where(s => s.State != ResourceState.Stopped && s.State != ResourceState.Failed)
                .Select(s => s.Id).ToListAsync(cancellationToken);
        }
        var starting = false;
        foreach (var id in ids)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var state = await scope.ServiceProvider.GetRequiredService<ServerDriver>().ConvergeAsync(id, cancellationToken);
                starting |= state is ResourceState.Pending or ResourceState.Starting or ResourceState.Stopping;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.ServerPassFailed(id.ToString(System.Globalization.CultureInfo.InvariantCulture), e);
            }
        }
        return starting;
    }
}
