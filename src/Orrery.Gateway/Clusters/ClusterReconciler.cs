using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// Drives every unfinished cluster towards what its row asks for: start the scheduler, publish its routes and
/// report RUNNING, keep the worker count at the target (scale, adapt, replace dead workers), stop everything on
/// request or failure. It is the only code that acts on a cluster's processes, and it handles one cluster at a
/// time, so scale, adapt ticks, worker deaths and stop of a cluster are serialised by construction. Everything
/// it needs is in the database, so after a restart it re-attaches: routes come back, adapt resumes.
/// </summary>
public sealed class ClusterReconciler(IServiceScopeFactory scopes, ClusterSignals signals, TimeProvider time,
    IOptions<GatewayOptions> options, ILogger<ClusterReconciler> logger, ComputeReconciler compute) : ResourceFollowingLoop(compute, time)
{
    // While a scheduler is starting, its --scheduler-file is looked for this often, so RUNNING follows it closely.
    private static readonly TimeSpan StartingPollInterval = TimeSpan.FromMilliseconds(50);

    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken) =>
        await ReconcileAllAsync(cancellationToken) ? StartingPollInterval : options.Value.ReconcileInterval;

    protected override void PassFailed(Exception exception) => logger.ClusterPassFailed("(listing)", exception);

    /// <summary>Reconciles every unfinished cluster; returns whether one is still starting.</summary>
    private Task<bool> ReconcileAllAsync(CancellationToken cancellationToken) => ConvergeEachAsync(scopes,
        services => services.GetRequiredService<OrreryDb>().Clusters
            .Where(c => c.State != ResourceState.Stopped && c.State != ResourceState.Failed).Select(c => c.Name).ToListAsync(cancellationToken),
        async (services, name) =>
        {
            var (changed, state) = await services.GetRequiredService<ClusterDriver>().ConvergeAsync(name, cancellationToken);
            if (changed)
                signals.Pulse(name);
            return state is ResourceState.Pending or ResourceState.Starting;
        },
        (name, e) => logger.ClusterPassFailed(name, e));
}
