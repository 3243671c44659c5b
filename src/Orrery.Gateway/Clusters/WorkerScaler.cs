using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// Keeps a running cluster's workers at its target: adaptive ticks move the target, missing workers are
/// started, surplus ones retired through the scheduler (so their data moves first), dead ones replaced, and
/// repeated start failures fail the cluster.
/// </summary>
public sealed class WorkerScaler(ComputeService compute, SchedulerApi scheduler, ClusterMemory memory, ClusterLimiter limiter,
    TimeProvider time, IOptions<GatewayOptions> gateway, IOptions<OrreryOptions> orrery, ILogger<WorkerScaler> logger)
{
    public async Task ConvergeAsync(DaskCluster cluster, List<ComputeResource> workers, CancellationToken cancellationToken)
    {
        var dashboard = new Uri(cluster.DashboardAddress!);
        var state = memory.For(cluster.Name);
        var now = time.GetUtcNow().UtcDateTime;
        HashSet<string> registered;
        try
        {
            registered = await scheduler.WorkerNamesAsync(dashboard, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            logger.SchedulerApiUnavailable(cluster.Name, ex.Message);
            return;
        }
        state.Registered.UnionWith(registered);

        await CountStartFailuresAsync(cluster, workers, state, now, cancellationToken);
        if (cluster.WorkerStartFailures >= gateway.Value.WorkerStartFailureLimit)
        {
            ClusterDriver.Fail(cluster, $"{cluster.WorkerStartFailures} workers in a row failed to start.");
            return;
        }
        if (cluster.Adaptive)
            await AdaptTickAsync(cluster, dashboard, state, now, cancellationToken);

        var live = workers.Where(w => !ResourceLifecycle.IsTerminal(w.State) && !w.StopRequested).ToList();
        if (live.Count < cluster.TargetWorkers)
            for (var i = live.Count; i < cluster.TargetWorkers; i++)
                await StartWorkerAsync(cluster, cancellationToken);
        else if (live.Count > cluster.TargetWorkers)
            await RemoveWorkersAsync(cluster, dashboard, live, state, live.Count - cluster.TargetWorkers, cancellationToken);
    }

    /// <summary>A worker that ended without ever registering, or has not registered in time, is a failed start.</summary>
    private async Task CountStartFailuresAsync(DaskCluster cluster, List<ComputeResource> workers, ClusterMemory.State state, DateTime now,
        CancellationToken cancellationToken)
    {
        foreach (var worker in workers.Where(w => state.Registered.Contains(w.Name)))
            if (state.Accounted.Add(worker.Id))
                cluster.WorkerStartFailures = 0;
        foreach (var worker in workers.Where(w => !state.Registered.Contains(w.Name) && !w.StopRequested))
        {
            var ended = ResourceLifecycle.IsTerminal(worker.State);
            // The start timeout counts from when the process runs: waiting in a batch queue (Slurm) is not a failed start.
            var late = worker.Started is { } started && now - started > gateway.Value.WorkerStartTimeout;
            if ((ended || late) && state.Accounted.Add(worker.Id))
            {
                cluster.WorkerStartFailures++;
                if (!ended)
                    await compute.RequestStopAsync(worker.Id, cancellationToken);
                logger.WorkerStartFailed(cluster.Name, worker.Name, worker.Reason);
            }
        }
    }

    /// <summary>Upstream's rule: scale up at once; scale down only to the largest of the last three targets.</summary>
    private async Task AdaptTickAsync(DaskCluster cluster, Uri dashboard, ClusterMemory.State state, DateTime now, CancellationToken cancellationToken)
    {
        if (now - state.LastAdaptTick < gateway.Value.AdaptivePeriod)
            return;
        state.LastAdaptTick = now;
        int target;
        try
        {
            target = await scheduler.AdaptiveTargetAsync(dashboard, cancellationToken);
        }
        catch (HttpRequestException)
        {
            return;
        }
        target = Math.Clamp(target, cluster.AdaptiveMinimum, Math.Max(cluster.AdaptiveMinimum, cluster.AdaptiveMaximum));
        state.AdaptWindow.Enqueue(target);
        while (state.AdaptWindow.Count > 3)
            state.AdaptWindow.Dequeue();
        var next = target > cluster.TargetWorkers ? target
            : state.AdaptWindow.Max() < cluster.TargetWorkers ? state.AdaptWindow.Max() : cluster.TargetWorkers;
        if (next != cluster.TargetWorkers)
        {
            await limiter.WithBudgetAsync(cluster, max => cluster.TargetWorkers = max is { } m ? Math.Min(next, m) : next, cancellationToken);
            logger.Adapted(cluster.Name, cluster.TargetWorkers);
        }
    }

    private async Task StartWorkerAsync(DaskCluster cluster, CancellationToken cancellationToken)
    {
        var name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var id = "worker-" + name;
        var settings = ClusterDriver.Settings(cluster);
        var backend = settings.WorkerBackendOr(gateway.Value, orrery.Value.DefaultBackend);
        var spec = DaskLaunchSpecs.Worker(id, name, gateway.Value.DaskCommand, cluster.WorkDir, cluster.SchedulerAddress!, settings,
            settings.Placement(gateway.Value), ContainerImages.For(cluster.EnvironmentId, settings.Image, backend));
        await compute.RequestAsync(ResourceKind.Worker, cluster.OwnerId, name, spec, backend, cluster.Name, cancellationToken);
    }

    /// <summary>Not-yet-registered workers go first (nothing to lose); the rest are chosen and drained by the scheduler.</summary>
    private async Task RemoveWorkersAsync(DaskCluster cluster, Uri dashboard, List<ComputeResource> live, ClusterMemory.State state,
        int count, CancellationToken cancellationToken)
    {
        foreach (var pending in live.Where(w => !state.Registered.Contains(w.Name)).Take(count).ToList())
        {
            await compute.RequestStopAsync(pending.Id, cancellationToken);
            count--;
        }
        if (count <= 0)
            return;
        List<string> retired;
        try
        {
            retired = await scheduler.RetireAsync(dashboard, count, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            logger.SchedulerApiUnavailable(cluster.Name, ex.Message);
            return;
        }
        foreach (var worker in live.Where(w => retired.Contains(w.Name)))
            await compute.RequestStopAsync(worker.Id, cancellationToken);
    }
}
