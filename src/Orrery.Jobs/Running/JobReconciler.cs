using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Running;

/// <summary>
/// The only code acting on jobs' processes. Each pass, oldest job first: start the current attempt of a pending job
/// when its owner has capacity (else say why it waits), follow the attempt's compute resource, retry a failed attempt
/// up to the backoff limit, record the outcome, and clean up: a finished job's working files and token go at once,
/// its status and logs after the retention period; a deleted job goes as soon as its process is stopped. All state is
/// in the database and the compute resources re-attach after a restart, so nothing is lost if Orrery is killed.
/// </summary>
public sealed class JobReconciler(IServiceScopeFactory scopes, HubCache hubCache, TimeProvider time, IOptions<JobsOptions> options,
    IOptions<OrreryOptions> orrery, ILogger<JobReconciler> logger, ComputeReconciler compute) : ResourceFollowingLoop(compute, time)
{
    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var compute = scope.ServiceProvider.GetRequiredService<ComputeService>();
        var backends = scope.ServiceProvider.GetRequiredService<ComputeBackends>();
        var service = scope.ServiceProvider.GetRequiredService<JobService>();
        var now = Time.GetUtcNow().UtcDateTime;
        var retentionCutoff = now - options.Value.Retention;

        var jobs = await db.Jobs.Include(j => j.Owner)
            .Where(j => j.DeleteRequested || j.State == JobState.Pending || j.State == JobState.Running
                        || (j.State == JobState.Succeeded && j.CompletionTime < retentionCutoff)
                        || (j.State == JobState.Failed && j.FailedTime < retentionCutoff))
            .OrderBy(j => j.Id).ToListAsync(cancellationToken);
        var usage = await UsageAsync(db, cancellationToken);
        // One query for every job's pods: a long queue must not cost a query per waiting job on every pass.
        var jobIds = jobs.Select(j => j.Id).ToList();
        var podsByJob = (await db.JobPods.Where(p => jobIds.Contains(p.JobId)).OrderBy(p => p.Id).ToListAsync(cancellationToken))
            .ToLookup(p => p.JobId);
        var starting = false;
        foreach (var job in jobs)
        {
            try
            {
                var pods = podsByJob[job.Id].ToList();
                if (job.DeleteRequested || job.State is JobState.Succeeded or JobState.Failed)
                    await RemoveAsync(db, compute, backends, job, pods, cancellationToken);
                else
                    starting |= await ConvergeAsync(db, compute, service, job, pods, usage, cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.JobPassFailed(job.Name, e);
            }
        }
        return starting ? TimeSpan.FromMilliseconds(100) : options.Value.ReconcileInterval;
    }

    protected override void PassFailed(Exception exception) => logger.JobPassFailed("(listing)", exception);

    /// <summary>Returns whether the job is between launch and running (worth a quick next pass).</summary>
    private async Task<bool> ConvergeAsync(OrreryDb db, ComputeService compute, JobService service, BatchJob job, List<JobPod> pods,
        Dictionary<long, Usage> usage, CancellationToken cancellationToken)
    {
        var pod = pods[^1];
        if (pod.ResourceId is null)
        {
            var owner = usage.GetValueOrDefault(job.OwnerId) ?? new Usage(0, 0, 0);
            if (WhyWait(owner, job) is { } reason)
            {
                job.Reason = reason;
                return false;
            }
            usage[job.OwnerId] = owner.Add(job);
            job.Reason = null;
            await LaunchAsync(db, compute, job, pod, cancellationToken);
            return true;
        }
        var resource = await db.Resources.AsNoTracking().FirstAsync(r => r.Id == pod.ResourceId, cancellationToken);
        switch (resource.State)
        {
            case ResourceState.Pending or ResourceState.Starting:
                job.State = JobState.Pending;
                return true;
            case ResourceState.Running or ResourceState.Stopping:
                job.State = JobState.Running;
                return false;
        }
        if (resource.ExitCode == 0)
        {
            job.State = JobState.Succeeded;
            job.CompletionTime = resource.Ended ?? Time.GetUtcNow().UtcDateTime;
            job.ExitCode = 0;
            await FinishAsync(db, job, cancellationToken);
            logger.JobFinished(job.Name, "succeeded");
            return false;
        }
        var failed = pods.Count;   // every earlier attempt failed too, or there would be no retry
        if (failed <= job.BackoffLimit)
        {
            db.JobPods.Add(service.NewPod(job));
            job.State = JobState.Pending;
            logger.JobRetrying(job.Name, failed, job.BackoffLimit, resource.ExitCode);
            return true;
        }
        job.State = JobState.Failed;
        job.FailedTime = resource.Ended ?? Time.GetUtcNow().UtcDateTime;
        job.ExitCode = resource.ExitCode;
        // The backend's reason says what a bare status cannot: OUT_OF_MEMORY, a node failure, Slurm's refusal.
        job.Reason = $"Job has reached the specified backoff limit: attempt {failed} of {job.BackoffLimit + 1} "
                     + (resource.ExitCode is { } code ? $"exited with status {code}" : "ended")
                     + (resource.Reason is { Length: > 0 } why ? $" ({why})" : "");
        await FinishAsync(db, job, cancellationToken);
        logger.JobFinished(job.Name, job.Reason);
        return false;
    }

    private async Task LaunchAsync(OrreryDb db, ComputeService compute, BatchJob job, JobPod pod, CancellationToken cancellationToken)
    {
        var workingDirectory = JobFiles.PrepareAttempt(job.Directory, pod.Name, JobFiles.Limits(options.Value));
        var backend = options.Value.BackendFor(job.Image, orrery.Value.DefaultBackend);
        var spec = JobLaunch.Spec(job, pod, workingDirectory, options.Value.PlacementFor(job.Image), backend);
        var resource = await compute.RequestAsync(Core.Compute.ResourceKind.Job, job.OwnerId, pod.Name, spec, backend, "job:" + job.Uid, cancellationToken);
        pod.ResourceId = resource.Id;
        job.State = JobState.Pending;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Over: the token and the working files go now; status and logs stay for the retention period.</summary>
    private async Task FinishAsync(OrreryDb db, BatchJob job, CancellationToken cancellationToken)
    {
        if (job.TokenId is { } tokenId)
        {
            await db.Tokens.Where(t => t.Id == tokenId).ExecuteDeleteAsync(cancellationToken);
            job.TokenId = null;
            hubCache.Invalidate();
        }
        JobFiles.Delete(job.Directory);
    }

    /// <summary>Deleted, or past retention: stop the process if any, then remove every trace, logs included.</summary>
    private async Task RemoveAsync(OrreryDb db, ComputeService compute, ComputeBackends backends, BatchJob job, List<JobPod> pods,
        CancellationToken cancellationToken)
    {
        var resourceIds = pods.Where(p => p.ResourceId is not null).Select(p => p.ResourceId!).ToList();
        var resources = await db.Resources.Where(r => resourceIds.Contains(r.Id)).ToListAsync(cancellationToken);
        var live = resources.Where(r => !ResourceLifecycle.IsTerminal(r.State)).ToList();
        if (live.Count > 0)
        {
            foreach (var resource in live.Where(r => !r.StopRequested))
                await compute.RequestStopAsync(resource.Id, cancellationToken);
            return;   // gone at a later pass, once stopped
        }
        foreach (var resource in resources)
            if (resource.Handle is not null && backends.Find(resource.Backend) is { } backend)
                await backend.ForgetAsync(new Core.Compute.BackendHandle(resource.Backend, resource.Handle), cancellationToken);
        db.Resources.RemoveRange(resources);
        await FinishAsync(db, job, cancellationToken);
        db.Jobs.Remove(job);
        logger.JobRemoved(job.Name, job.DeleteRequested ? "deleted" : "past its retention");
    }

    private string? WhyWait(Usage owner, BatchJob job)
    {
        var limits = options.Value;
        if (limits.MaxConcurrentJobs > 0 && owner.Jobs >= limits.MaxConcurrentJobs)
            return $"waiting: {owner.Jobs} of {limits.MaxConcurrentJobs} jobs already running (Orrery:Jobs:MaxConcurrentJobs)";
        if (limits.MaxCores > 0 && owner.Cores + (job.Cores ?? 0) > limits.MaxCores)
            return $"waiting: running jobs use {owner.Cores} of {limits.MaxCores} cores (Orrery:Jobs:MaxCores)";
        if (ByteSizes.Parse(limits.MaxMemory) is { } memory && owner.Memory + (job.MemoryBytes ?? 0) > memory)
            return $"waiting: running jobs use {ByteSizes.Format(owner.Memory)} of {ByteSizes.Format(memory)} memory (Orrery:Jobs:MaxMemory)";
        return null;
    }

    /// <summary>What each user's launched, unfinished attempts take now.</summary>
    private static async Task<Dictionary<long, Usage>> UsageAsync(OrreryDb db, CancellationToken cancellationToken)
    {
        var launched = await db.JobPods
            .Where(p => p.ResourceId != null && db.Resources.Any(r => r.Id == p.ResourceId
                && r.State != ResourceState.Stopped && r.State != ResourceState.Failed))
            .Select(p => new { p.Job!.OwnerId, p.Job.Cores, p.Job.MemoryBytes })
            .ToListAsync(cancellationToken);
        return launched.GroupBy(p => p.OwnerId).ToDictionary(g => g.Key,
            g => new Usage(g.Count(), g.Sum(p => p.Cores ?? 0), g.Sum(p => p.MemoryBytes ?? 0)));
    }

    private sealed record Usage(int Jobs, double Cores, long Memory)
    {
        public Usage Add(BatchJob job) => new(Jobs + 1, Cores + (job.Cores ?? 0), Memory + (job.MemoryBytes ?? 0));
    }
}
