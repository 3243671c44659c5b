using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// Per-user limits. A change that spends the user's budget (create, scale, adapt) runs under that user's lock
/// from reading what the user's other clusters hold to saving the new target, so concurrent requests cannot
/// together overshoot. (One Orrery instance per database, as docs/architecture.md says.)
/// </summary>
public sealed class ClusterLimiter(OrreryDb db, UserLocks locks, IOptions<GatewayOptions> options)
{
    /// <summary>Runs <paramref name="apply"/> with the most workers this cluster may have (null = no limit), then saves.</summary>
    public async Task<T> WithBudgetAsync<T>(DaskCluster cluster, Func<int?, T> apply, CancellationToken cancellationToken)
    {
        using var held = await locks.AcquireAsync(cluster.OwnerId, cancellationToken);
        var result = apply(await MaxWorkersAsync(cluster, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    /// <summary>Runs <paramref name="apply"/> with the number of active clusters the user has, under the user's lock, then saves.</summary>
    public async Task<T> WithClusterCountAsync<T>(long ownerId, Func<int, T> apply, CancellationToken cancellationToken)
    {
        using var held = await locks.AcquireAsync(ownerId, cancellationToken);
        var active = await Active(ownerId).CountAsync(cancellationToken);
        var result = apply(active);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    private async Task<int?> MaxWorkersAsync(DaskCluster cluster, CancellationToken cancellationToken)
    {
        var limits = options.Value.Limits;
        var others = await Active(cluster.OwnerId).Where(c => c.Name != cluster.Name)
            .Select(c => new { c.TargetWorkers, c.WorkerCores, c.WorkerMemory }).ToListAsync(cancellationToken);
        int? max = limits.MaxWorkersPerCluster > 0 ? limits.MaxWorkersPerCluster : null;
        if (limits.MaxCores > 0 && cluster.WorkerCores > 0)
            max = Min(max, (int)Math.Floor((limits.MaxCores - others.Sum(o => o.TargetWorkers * o.WorkerCores)) / cluster.WorkerCores));
        if (limits.MaxMemory > 0 && cluster.WorkerMemory > 0)
            max = Min(max, (int)((limits.MaxMemory - others.Sum(o => o.TargetWorkers * o.WorkerMemory)) / cluster.WorkerMemory));
        return max is { } m ? Math.Max(0, m) : null;
    }

    private IQueryable<DaskCluster> Active(long ownerId) =>
        db.Clusters.Where(c => c.OwnerId == ownerId && !c.StopRequested && c.State != ResourceState.Stopped && c.State != ResourceState.Failed);

    private static int? Min(int? a, int b) => a is { } x ? Math.Min(x, b) : b;
}
