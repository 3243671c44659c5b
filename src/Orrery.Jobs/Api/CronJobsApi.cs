using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Api;
using Orrery.Jobs.Cron;
using Orrery.Jobs.Running;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>kbatch's cron job routes: submit, list, show, delete (which deletes the jobs it created too).</summary>
public static class CronJobsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        JobsApi.MapBoth(api, "GET", "/cronjobs", List);
        JobsApi.MapBoth(api, "POST", "/cronjobs", SubmitAsync);
        JobsApi.MapBoth(api, "GET", "/cronjobs/{name}", Show);
        JobsApi.MapBoth(api, "DELETE", "/cronjobs/{name}", DeleteAsync);
    }

    private static async Task<IResult> List(HttpContext context, OrreryDb db)
    {
        var caller = context.Caller();
        var crons = await db.CronJobs.AsNoTracking().Where(c => c.OwnerId == caller.User.Id).OrderBy(c => c.Id).ToListAsync(context.RequestAborted);
        var active = await ActiveAsync(db, crons.Select(c => c.Id).ToList(), context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WriteList(w, "batch/v1", "CronJobList", items =>
        {
            foreach (var cron in crons)
                KubeObjects.WriteCronJob(items, cron, caller.Name, Template(cron), active[cron.Id].ToList());
        }));
    }

    private static async Task<IResult> Show(string name, HttpContext context, OrreryDb db)
    {
        var caller = context.Caller();
        var cron = await db.CronJobs.AsNoTracking().FirstOrDefaultAsync(c => c.OwnerId == caller.User.Id && c.Name == name, context.RequestAborted)
                   ?? throw JobsApiException.CronJobNotFound(name);
        var active = await ActiveAsync(db, [cron.Id], context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WriteCronJob(w, cron, caller.Name, Template(cron), active[cron.Id].ToList()));
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, OrreryDb db, TimeProvider time, IOptions<JobsOptions> options,
        IOptions<OrreryOptions> orrery)
    {
        var caller = context.Caller();
        using var body = await JobsApi.ReadBodyAsync(context, options.Value);
        var request = JobRequests.ParseCronJob(JobsApi.Property(body.RootElement, "job"));
        if (!CronSchedule.TryParse(request.Schedule, out _, out var error))
            throw new JobsApiException(422, $"CronJob.batch is invalid: spec.schedule: {error}");
        JobService.CheckLimits(request.Job, options.Value);
        var name = request.Name ?? KubeNames.Generate(request.GenerateName);
        if (KubeNames.CheckName(name) is { } invalid)
            throw new JobsApiException(422, $"CronJob.batch \"{name}\" is invalid: {invalid}");
        if (await db.CronJobs.AnyAsync(c => c.OwnerId == caller.User.Id && c.Name == name, context.RequestAborted))
            throw new JobsApiException(409, $"cronjobs.batch \"{name}\" already exists");
        var uid = Guid.NewGuid().ToString();
        var directory = Path.Combine(orrery.Value.DataDir, "cronjobs", uid);
        JobFiles.CreateDirectory(directory);
        var code = JobRequests.Code(body.RootElement);
        try
        {
            if (code is not null)
                JobFiles.SaveBundle(code, directory, JobFiles.Limits(options.Value));
            var cron = new CronJob
            {
                OwnerId = caller.User.Id, Name = name, Uid = uid, GenerateName = request.GenerateName, Schedule = request.Schedule,
                Suspend = request.Suspend, ConcurrencyPolicy = request.ConcurrencyPolicy,
                SuccessfulJobsHistoryLimit = request.SuccessfulJobsHistoryLimit, FailedJobsHistoryLimit = request.FailedJobsHistoryLimit,
                StartingDeadlineSeconds = request.StartingDeadlineSeconds, JobTemplateJson = JsonSerializer.Serialize(request.Job),
                Directory = directory, HasCode = code is not null, ServerId = caller.ServerId, Created = time.GetUtcNow().UtcDateTime,
            };
            db.CronJobs.Add(cron);
            await db.SaveChangesAsync(context.RequestAborted);
            return new JsonWriterResult(200, w => KubeObjects.WriteCronJob(w, cron, caller.Name, request.Job, []));
        }
        catch
        {
            JobFiles.Delete(directory);
            throw;
        }
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, OrreryDb db, JobReconciler reconciler)
    {
        var caller = context.Caller();
        var cron = await db.CronJobs.FirstOrDefaultAsync(c => c.OwnerId == caller.User.Id && c.Name == name, context.RequestAborted)
                   ?? throw JobsApiException.CronJobNotFound(name);
        // Kubernetes' foreground deletion: the cron job's jobs and their pods go with it.
        await db.Jobs.Where(j => j.CronJobId == cron.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.DeleteRequested, true), context.RequestAborted);
        db.CronJobs.Remove(cron);
        await db.SaveChangesAsync(context.RequestAborted);
        JobFiles.Delete(cron.Directory);
        reconciler.Wake();
        return new JsonWriterResult(200, w => KubeObjects.WriteDeleted(w, cron.Name, "cronjobs", cron.Uid));
    }

    public static JobRequest Template(CronJob cron) => JsonSerializer.Deserialize<JobRequest>(cron.JobTemplateJson)!;

    private static async Task<ILookup<long, BatchJob>> ActiveAsync(OrreryDb db, List<long> cronIds, CancellationToken cancellationToken) =>
        (await db.Jobs.AsNoTracking()
            .Where(j => j.CronJobId != null && cronIds.Contains(j.CronJobId.Value) && !j.DeleteRequested
                        && (j.State == JobState.Pending || j.State == JobState.Running))
            .ToListAsync(cancellationToken)).ToLookup(j => j.CronJobId!.Value);
}
