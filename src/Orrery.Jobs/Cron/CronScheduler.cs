using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Hub.Auth;
using Orrery.Jobs.Api;
using Orrery.Jobs.Running;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Cron;

/// <summary>
/// Creates the jobs cron jobs ask for, as Kubernetes' CronJob controller does: at each due minute (UTC) the most
/// recent missed run only, skipped when older than the starting deadline; concurrency Allow, Forbid (skip while a run
/// is active) or Replace (delete the active run first); suspended cron jobs create nothing; finished runs beyond the
/// history limits are deleted. Runs are named <c>&lt;cron&gt;-&lt;minutes since the epoch&gt;</c>, so a run is never
/// created twice even across a restart.
/// </summary>
public sealed class CronScheduler(IServiceScopeFactory scopes, CallerResolver resolver, TimeProvider time, IOptions<JobsOptions> options,
    ILogger<CronScheduler> logger) : ReconcileLoop(time)
{
    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        await RunDueAsync(Time.GetUtcNow().UtcDateTime, cancellationToken);
        return options.Value.CronInterval;
    }

    protected override void PassFailed(Exception exception) => logger.CronPassFailed(exception);

    /// <summary>One pass as of <paramref name="now"/> (tests pass their own clock); returns the jobs it created.</summary>
    public async Task<IReadOnlyList<string>> RunDueAsync(DateTime now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var jobs = scope.ServiceProvider.GetRequiredService<JobService>();
        var created = new List<string>();
        foreach (var cron in await db.CronJobs.OrderBy(c => c.Id).ToListAsync(cancellationToken))
        {
            await TrimHistoryAsync(db, cron, cancellationToken);
            if (cron.Suspend || await DueAsync(cron, now) is not { } due)
                continue;
            cron.LastScheduleTime = due;
            var active = await db.Jobs.Where(j => j.CronJobId == cron.Id && !j.DeleteRequested
                                                 && (j.State == JobState.Pending || j.State == JobState.Running)).ToListAsync(cancellationToken);
            if (active.Count > 0 && cron.ConcurrencyPolicy == "Forbid")
            {
                logger.CronRun(cron.Name, $"run at {KubeObjects.Time(due)} skipped: {active[0].Name} is still active (Forbid)");
                await db.SaveChangesAsync(cancellationToken);
                continue;
            }
            if (cron.ConcurrencyPolicy == "Replace")
                active.ForEach(j => j.DeleteRequested = true);
            var name = $"{cron.Name}-{(long)(due - DateTime.UnixEpoch).TotalMinutes}";
            await db.SaveChangesAsync(cancellationToken);
            if (await db.Jobs.AnyAsync(j => j.OwnerId == cron.OwnerId && j.Name == name, cancellationToken))
                continue;
            var owner = await resolver.UserAsync(cron.OwnerId, scope.ServiceProvider, cancellationToken);
            if (owner is null)
                continue;
            var caller = new Caller(owner, owner.RoleScopes, null, null, null, cron.ServerId);
            try
            {
                await jobs.SubmitAsync(caller, CronJobsApi.Template(cron), null, cron, name, cancellationToken);
                created.Add(name);
                logger.CronRun(cron.Name, $"created {name} for {KubeObjects.Time(due)}");
            }
            catch (JobsApiException e)
            {
                logger.CronRun(cron.Name, $"could not create {name}: {e.Message}");
            }
        }
        return created;
    }

    /// <summary>The most recent scheduled minute since the last run, unless past the starting deadline.</summary>
    private Task<DateTime?> DueAsync(CronJob cron, DateTime now)
    {
        var schedule = CronSchedule.Parse(cron.Schedule);
        var from = cron.LastScheduleTime ?? cron.Created;
        DateTime? latest = null;
        for (var next = schedule.NextAfter(from); next is { } at && at <= now; next = schedule.NextAfter(at))
            latest = at;
        if (latest is { } due && cron.StartingDeadlineSeconds is { } deadline && now - due > TimeSpan.FromSeconds(deadline))
        {
            logger.CronRun(cron.Name, $"run at {KubeObjects.Time(due)} missed its starting deadline of {deadline} s");
            cron.LastScheduleTime = due;
            return Task.FromResult<DateTime?>(null);
        }
        return Task.FromResult(latest);
    }

    private static async Task TrimHistoryAsync(OrreryDb db, CronJob cron, CancellationToken cancellationToken)
    {
        var finished = await db.Jobs.Where(j => j.CronJobId == cron.Id && !j.DeleteRequested
                                               && (j.State == JobState.Succeeded || j.State == JobState.Failed))
            .OrderByDescending(j => j.Id).ToListAsync(cancellationToken);
        foreach (var old in finished.Where(j => j.State == JobState.Succeeded).Skip(cron.SuccessfulJobsHistoryLimit))
            old.DeleteRequested = true;
        foreach (var old in finished.Where(j => j.State == JobState.Failed).Skip(cron.FailedJobsHistoryLimit))
            old.DeleteRequested = true;
        if (finished.Where(j => j.State == JobState.Succeeded).Select(j => j.CompletionTime).Max() is { } success)
            cron.LastSuccessfulTime = success;
        await db.SaveChangesAsync(cancellationToken);
    }
}
