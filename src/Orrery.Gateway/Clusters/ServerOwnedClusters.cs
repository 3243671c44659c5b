using Microsoft.EntityFrameworkCore;
using Orrery.Core.Lifecycle;
using Orrery.Core.Ownership;
using Orrery.Storage;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// Clusters created with a personal server's token stop with that server, unless their owner marked them to keep
/// running (the clusters page). The reconciler then stops them as if their owner had asked.
/// </summary>
public sealed class ServerOwnedClusters(OrreryDb db, ClusterReconciler reconciler) : IServerDependents
{
    public async Task<int> StopForServerAsync(long serverId, string reason, CancellationToken cancellationToken)
    {
        var stopped = await db.Clusters
            .Where(c => c.ServerId == serverId && !c.KeepRunning && !c.StopRequested
                        && c.State != ResourceState.Stopped && c.State != ResourceState.Failed)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.StopRequested, true).SetProperty(c => c.Reason, "Stopped because " + reason), cancellationToken);
        if (stopped > 0)
            reconciler.Wake();
        return stopped;
    }
}
