using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Environments;
using Orrery.Hub.Accounts;
using Orrery.Hub.Auth;
using Orrery.Jobs.Api;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Running;

/// <summary>
/// Records submitted jobs (and their first pod, so both are listed the moment the submit returns) and deletions,
/// and wakes the <see cref="JobReconciler"/>, the only code that starts and stops their processes.
/// </summary>
public sealed class JobService(OrreryDb db, AccountService accounts, JobReconciler reconciler, TimeProvider time,
    IOptions<JobsOptions> options, IOptions<OrreryOptions> orrery, IEnvironments environments)
{
    public async Task<BatchJob> SubmitAsync(Caller caller, JobRequest request, string? code, CronJob? fromCron, string? name,
        CancellationToken cancellationToken)
    {
        CheckLimits(request, options.Value);
        name ??= request.Name ?? await FreeNameAsync(caller.User.Id, request.GenerateName, cancellationToken);
        if (KubeNames.CheckName(name) is { } invalid)
            throw new JobsApiException(422, $"Job.batch \"{name}\" is invalid: {invalid}");
        if (await db.Jobs.AnyAsync(j => j.OwnerId == caller.User.Id && j.Name == name, cancellationToken))
            throw new JobsApiException(409, $"jobs.batch \"{name}\" already exists");

        // The image may name an environment: fixed now, so a later rebuild of that name does not change the job.
        var environment = await environments.FindAsync(caller.User.Id, request.Image, cancellationToken);
        if (environment.Error is { } unusable)
            throw new JobsApiException(422, $"image: {unusable}");

        var uid = Guid.NewGuid().ToString();
        var directory = Path.Combine(orrery.Value.DataDir, "jobs", uid);
        JobFiles.CreateDirectory(directory);
        try
        {
            var hasCode = code is not null;
            if (code is not null)
                JobFiles.SaveBundle(code, directory, JobFiles.Limits(options.Value));
            else if (fromCron is { HasCode: true })
            {
                File.Copy(Path.Combine(fromCron.Directory, JobFiles.BundleFile), Path.Combine(directory, JobFiles.BundleFile));
                hasCode = true;
            }
            var (token, secret) = await accounts.IssueTokenAsync(caller.User.Id, $"kbatch job {name}", null, Scopes.Workload, "job", cancellationToken);
            var job = new BatchJob
            {
                OwnerId = caller.User.Id, Name = name, Uid = uid, GenerateName = request.GenerateName, Image = request.Image,
                EnvironmentId = environment.Environment?.Id,
                CommandJson = request.Command is null ? null : JsonSerializer.Serialize(request.Command),
                ArgsJson = request.Args is null ? null : JsonSerializer.Serialize(request.Args),
                EnvJson = JsonSerializer.Serialize(Environment(request, secret)),
                Cores = request.Cores, MemoryBytes = request.MemoryBytes, BackoffLimit = request.BackoffLimit,
                TtlSecondsAfterFinished = (int)Math.Min(int.MaxValue, options.Value.Retention.TotalSeconds),
                Directory = directory, HasCode = hasCode, State = JobState.Pending, TokenId = token.Id,
                ServerId = fromCron?.ServerId ?? caller.ServerId, CronJobId = fromCron?.Id,
                Created = time.GetUtcNow().UtcDateTime,
            };
            db.Jobs.Add(job);
            await db.SaveChangesAsync(cancellationToken);
            db.JobPods.Add(NewPod(job));
            await db.SaveChangesAsync(cancellationToken);
            reconciler.Wake();
            return job;
        }
        catch
        {
            JobFiles.Delete(directory);
            throw;
        }
    }

    public JobPod NewPod(BatchJob job) => new()
    {
        JobId = job.Id, Name = KubeNames.Generate(job.Name + "-"), Uid = Guid.NewGuid().ToString(), Created = time.GetUtcNow().UtcDateTime,
    };

    /// <summary>The job disappears from every answer at once; its processes are stopped and its files removed shortly.</summary>
    public async Task<BatchJob> DeleteAsync(long ownerId, string name, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.OwnerId == ownerId && j.Name == name && !j.DeleteRequested, cancellationToken)
                  ?? throw JobsApiException.JobNotFound(name);
        job.DeleteRequested = true;
        await db.SaveChangesAsync(cancellationToken);
        reconciler.Wake();
        return job;
    }

    /// <summary>
    /// The user's variables, then Orrery's (kbatch-proxy's order): the configured extras, the image as
    /// JUPYTER_IMAGE and JUPYTER_IMAGE_SPEC, and a token of the job's own for JUPYTERHUB_API_TOKEN — scoped to the
    /// user's own resources and services, and deleted when the job ends (kbatch passes the caller's token itself).
    /// </summary>
    private List<EnvVar> Environment(JobRequest request, string token) =>
    [
        .. request.Env,
        .. options.Value.ExtraEnvironment.Select(e => new EnvVar(e.Key, e.Value)),
        new("JUPYTER_IMAGE", request.Image),
        new("JUPYTER_IMAGE_SPEC", request.Image),
        new("JUPYTERHUB_API_TOKEN", token),
    ];

    /// <summary>
    /// A job bigger than the user's whole allowance could never start: refused rather than queued forever (and a cron
    /// job whose runs would all be refused, at its submit).
    /// </summary>
    public static void CheckLimits(JobRequest request, JobsOptions limits)
    {
        if (limits.MaxCores > 0 && request.Cores > limits.MaxCores)
            throw new JobsApiException(422, $"the job requests {request.Cores} cores, more than the per-user limit of {limits.MaxCores} (Orrery:Jobs:MaxCores)");
        if (ByteSizes.Parse(limits.MaxMemory) is { } memory && request.MemoryBytes > memory)
            throw new JobsApiException(422, $"the job requests {ByteSizes.Format(request.MemoryBytes.Value)} of memory, more than the per-user limit of {ByteSizes.Format(memory)} (Orrery:Jobs:MaxMemory)");
    }

    private async Task<string> FreeNameAsync(long ownerId, string generateName, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 10; i++)
        {
            var name = KubeNames.Generate(generateName);
            if (!await db.Jobs.AnyAsync(j => j.OwnerId == ownerId && j.Name == name, cancellationToken))
                return name;
        }
        throw new JobsApiException(409, $"no free name for generate_name '{generateName}'");
    }
}
