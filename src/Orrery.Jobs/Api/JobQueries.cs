using Microsoft.EntityFrameworkCore;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>Loads jobs with their pods and resources in three queries, whatever the number of jobs.</summary>
public static class JobQueries
{
    public static async Task<List<JobView>> ViewsAsync(OrreryDb db, Caller caller, IQueryable<BatchJob> jobs, CancellationToken cancellationToken)
    {
        var rows = await jobs.AsNoTracking().Where(j => !j.DeleteRequested).OrderBy(j => j.Id).ToListAsync(cancellationToken);
        var ids = rows.Select(j => j.Id).ToList();
        var pods = await db.JobPods.AsNoTracking().Where(p => ids.Contains(p.JobId)).OrderBy(p => p.Id).ToListAsync(cancellationToken);
        var resourceIds = pods.Where(p => p.ResourceId != null).Select(p => p.ResourceId!).ToList();
        var resources = await db.Resources.AsNoTracking().Where(r => resourceIds.Contains(r.Id)).ToDictionaryAsync(r => r.Id, cancellationToken);
        var byJob = pods.ToLookup(p => p.JobId);
        return rows.Select(job => new JobView(job, caller.Name,
            byJob[job.Id].Select(p => new PodView(p, p.ResourceId is null ? null : resources.GetValueOrDefault(p.ResourceId))).ToList())).ToList();
    }

    public static async Task<JobView> OneAsync(OrreryDb db, Caller caller, string name, CancellationToken cancellationToken) =>
        (await ViewsAsync(db, caller, db.Jobs.Where(j => j.OwnerId == caller.User.Id && j.Name == name), cancellationToken)).FirstOrDefault()
        ?? throw JobsApiException.JobNotFound(name);

    public static async Task<(JobView, PodView)> PodAsync(OrreryDb db, Caller caller, string podName, CancellationToken cancellationToken)
    {
        var jobId = await db.JobPods.Where(p => p.Name == podName && p.Job!.OwnerId == caller.User.Id).Select(p => (long?)p.JobId)
            .FirstOrDefaultAsync(cancellationToken) ?? throw JobsApiException.PodNotFound(podName);
        var view = (await ViewsAsync(db, caller, db.Jobs.Where(j => j.Id == jobId), cancellationToken)).FirstOrDefault()
                   ?? throw JobsApiException.PodNotFound(podName);
        return (view, view.Pods.First(p => p.Pod.Name == podName));
    }
}
