using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Jobs.Cron;

namespace Orrery.FunctionalTests.Jobs;

/// <summary>The scheduler's own loop waits an hour: the tests drive it with their own clock.</summary>
public sealed class CronFixture : JobsFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Fast(new Dictionary<string, string?>
    {
        ["Orrery:Jobs:CronInterval"] = "01:00:00",
    });
}

/// <summary>
/// kbatch cron jobs (protocol notes §3.4, §4.6): submit, list, show, delete, and Kubernetes' CronJob controller
/// rules, driven through <see cref="CronScheduler.RunDueAsync"/> with fake times after the cron job's creation.
/// Each test deletes its cron jobs, since a pass looks at every user's.
/// </summary>
public class CronJobTests(CronFixture fixture) : IClassFixture<CronFixture>
{
    private CronScheduler Scheduler => fixture.Server.Service<CronScheduler>();

    [Fact]
    public async Task Submit_ShapeAndDefaults_ListShowDelete_InvalidSchedule422()
    {
        var (_, _, kbatch) = await fixture.UserAsync("cron");
        using var _ = kbatch;
        var cron = await kbatch.SubmitAsync(KbatchBodies.CronJob("nightly", "*/5 * * * *", ["sh", "run.sh"],
            code: KbatchBodies.SingleFile("run.sh", "echo hi")), "cronjobs/");
        cron.GetProperty("api_version").GetString().ShouldBe("batch/v1");
        cron.GetProperty("kind").GetString().ShouldBe("CronJob");
        var name = Kbatch.Name(cron);
        name.ShouldMatch("^nightly-cron-[a-z0-9]{5}$");
        cron.GetProperty("metadata").GetProperty("creation_timestamp").GetString()!.ShouldMatch(JobsApiTests.IsoTime);
        var spec = cron.GetProperty("spec");
        spec.GetProperty("schedule").GetString().ShouldBe("*/5 * * * *");
        spec.GetProperty("concurrency_policy").GetString().ShouldBe("Allow");
        spec.GetProperty("successful_jobs_history_limit").GetInt32().ShouldBe(3);
        spec.GetProperty("failed_jobs_history_limit").GetInt32().ShouldBe(1);
        spec.GetProperty("starting_deadline_seconds").GetInt32().ShouldBe(300);
        spec.GetProperty("suspend").GetBoolean().ShouldBeFalse();
        spec.GetProperty("job_template").GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0]
            .GetProperty("command").Strings().ShouldBe(["sh", "run.sh"]);

        foreach (var path in new[] { "cronjobs/", "cronjobs" })
        {
            var list = await (await kbatch.GetAsync(path)).JsonAsync();
            list.GetProperty("kind").GetString().ShouldBe("CronJobList");
            var item = list.GetProperty("items").EnumerateArray().Single();
            // The CLI's cronjob table: name, creation_timestamp, spec.schedule.
            Kbatch.Name(item).ShouldBe(name);
            item.GetProperty("metadata").GetProperty("creation_timestamp").GetString()!.ShouldMatch(JobsApiTests.IsoTime);
            item.GetProperty("spec").GetProperty("schedule").GetString().ShouldBe("*/5 * * * *");
        }
        foreach (var path in new[] { $"cronjobs/{name}", $"cronjobs/{name}/" })
            Kbatch.Name(await (await kbatch.GetAsync(path)).JsonAsync()).ShouldBe(name);

        var deleted = await kbatch.DeleteAsync($"cronjobs/{name}");
        deleted.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await deleted.JsonAsync()).GetProperty("kind").GetString().ShouldBe("Status");
        (await Kbatch.DetailAsync(await kbatch.GetAsync($"cronjobs/{name}"), 404)).ShouldBe($"cronjobs.batch \"{name}\" not found");
        (await Kbatch.DetailAsync(await kbatch.DeleteAsync($"cronjobs/{name}"), 404)).ShouldContain("not found");

        var invalid = await kbatch.PostAsync("cronjobs/", KbatchBodies.CronJob("bad", "every tuesday", ["true"]));
        (await Kbatch.DetailAsync(invalid, 422)).ShouldContain("spec.schedule");
        var sixFields = await kbatch.PostAsync("cronjobs/", KbatchBodies.CronJob("bad", "0 */5 * * * *", ["true"]));
        (await Kbatch.DetailAsync(sixFields, 422)).ShouldContain("spec.schedule");
        var policy = await kbatch.PostAsync("cronjobs/", KbatchBodies.CronJob("bad", "@hourly", ["true"], tweak: s => s["concurrency_policy"] = "Sometimes"));
        (await Kbatch.DetailAsync(policy, 422)).ShouldContain("concurrency_policy");
        (await (await kbatch.GetAsync("cronjobs/")).JsonAsync()).GetProperty("items").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task DueMinute_CreatesOneJobThatRuns_NotTwice_MissedMinutesOnlyLatest_DeleteTakesItsJobs()
    {
        var (_, _, kbatch) = await fixture.UserAsync("crondue");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "due", ["sh", "run.sh"], code: KbatchBodies.SingleFile("run.sh", "echo from the bundle"));
        try
        {
            (await Scheduler.RunDueAsync(first.AddSeconds(-1), CancellationToken.None)).ShouldBeEmpty();
            var created = await Scheduler.RunDueAsync(first.AddSeconds(10), CancellationToken.None);
            var expected = $"{name}-{Minutes(first)}";
            created.ShouldBe([expected]);
            (await Scheduler.RunDueAsync(first.AddSeconds(30), CancellationToken.None)).ShouldBeEmpty();

            var run = await kbatch.WaitFinishedAsync(expected);
            KbatchTable.Status(run).ShouldBe("done");
            (await kbatch.LogsAsync($"jobs/logs/{expected}/")).ShouldBe("from the bundle\n");
            (await kbatch.PodsAsync(expected)).Length.ShouldBe(1);

            var show = await (await kbatch.GetAsync($"cronjobs/{name}")).JsonAsync();
            show.GetProperty("status").GetProperty("last_schedule_time").GetString()
                .ShouldBe(first.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));

            // An hour of missed runs: only the latest is created.
            var later = first.AddHours(1);
            (await Scheduler.RunDueAsync(later.AddSeconds(20), CancellationToken.None)).ShouldBe([$"{name}-{Minutes(later)}"]);
            (await CronRunsAsync(kbatch, name)).ShouldBe([expected, $"{name}-{Minutes(later)}"], ignoreOrder: true);
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
        (await CronRunsAsync(kbatch, name)).ShouldBeEmpty();
        (await kbatch.PodsAsync("")).ShouldBeEmpty();
    }

    [Fact]
    public async Task Suspended_CreatesNothing()
    {
        var (_, _, kbatch) = await fixture.UserAsync("cronsusp");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "susp", ["true"], tweak: s => s["suspend"] = true);
        try
        {
            (await Scheduler.RunDueAsync(first.AddSeconds(10), CancellationToken.None)).ShouldNotContain(n => n.StartsWith(name, StringComparison.Ordinal));
            (await Scheduler.RunDueAsync(first.AddMinutes(5).AddSeconds(10), CancellationToken.None)).ShouldNotContain(n => n.StartsWith(name, StringComparison.Ordinal));
            (await kbatch.JobsAsync()).ShouldBeEmpty();
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
    }

    [Fact]
    public async Task Forbid_SkipsWhileARunIsActive()
    {
        var (_, _, kbatch) = await fixture.UserAsync("cronforbid");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "forbid", ["sleep", "60"], tweak: s => s["concurrency_policy"] = "Forbid");
        try
        {
            var run1 = (await Scheduler.RunDueAsync(first.AddSeconds(10), CancellationToken.None)).Single();
            await kbatch.WaitForAsync(run1, j => Kbatch.Count(j, "ready") == 1);
            var active = (await (await kbatch.GetAsync($"cronjobs/{name}")).JsonAsync()).GetProperty("status").GetProperty("active");
            active.EnumerateArray().Single().GetProperty("name").GetString().ShouldBe(run1);

            (await Scheduler.RunDueAsync(first.AddMinutes(5).AddSeconds(10), CancellationToken.None)).ShouldBeEmpty();
            (await CronRunsAsync(kbatch, name)).ShouldBe([run1]);
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
    }

    [Fact]
    public async Task Replace_DeletesTheActiveRun_StartsTheNewOne()
    {
        var (user, _, kbatch) = await fixture.UserAsync("cronrepl");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "repl", ["sleep", "60"], tweak: s => s["concurrency_policy"] = "Replace");
        try
        {
            var run1 = (await Scheduler.RunDueAsync(first.AddSeconds(10), CancellationToken.None)).Single();
            await kbatch.WaitForAsync(run1, j => Kbatch.Count(j, "ready") == 1);
            var pid = await JobProcesses.PidAsync(fixture.Server, Kbatch.Name((await kbatch.PodsAsync(run1)).Single()));

            var run2 = (await Scheduler.RunDueAsync(first.AddMinutes(5).AddSeconds(10), CancellationToken.None)).Single();
            run2.ShouldBe($"{name}-{Minutes(first.AddMinutes(5))}");
            (await CronRunsAsync(kbatch, name)).ShouldBe([run2]);
            await kbatch.WaitForAsync(run2, j => Kbatch.Count(j, "ready") == 1);
            await Eventually.TrueAsync(() => Task.FromResult(JobProcesses.LiveGroupMembers(pid).Count == 0), seconds: 15);
            await Eventually.TrueAsync(async () => (await JobProcesses.JobRowsAsync(fixture.Server, user)).Count == 1, seconds: 15);
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
    }

    [Fact]
    public async Task HistoryLimits_OlderFinishedRunsDeleted()
    {
        var (_, _, kbatch) = await fixture.UserAsync("cronhist");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "hist", ["echo", "run"], tweak: s => s["successful_jobs_history_limit"] = 1);
        try
        {
            var run1 = (await Scheduler.RunDueAsync(first.AddSeconds(10), CancellationToken.None)).Single();
            await kbatch.WaitFinishedAsync(run1);
            var run2 = (await Scheduler.RunDueAsync(first.AddMinutes(5).AddSeconds(10), CancellationToken.None)).Single();
            await kbatch.WaitFinishedAsync(run2);
            // The API shows run2 finished (from its pod) a moment before the job reconciler records it, and only recorded
            // runs count towards the history: the trim that follows the record deletes run1.
            await Eventually.TrueAsync(async () =>
            {
                (await Scheduler.RunDueAsync(first.AddMinutes(5).AddSeconds(20), CancellationToken.None)).ShouldBeEmpty();
                return (await CronRunsAsync(kbatch, name)).SequenceEqual([run2]);
            });
            (await (await kbatch.GetAsync($"cronjobs/{name}")).JsonAsync()).GetProperty("status").GetProperty("last_successful_time")
                .ValueKind.ShouldBe(JsonValueKind.String);
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
    }

    [Fact]
    public async Task StartingDeadline_TooLateRunSkipped_NextOneCreated()
    {
        var (_, _, kbatch) = await fixture.UserAsync("crondeadline");
        using var _ = kbatch;
        var (name, first) = await SubmitAsync(kbatch, "late", ["true"], tweak: s => s["starting_deadline_seconds"] = 10);
        try
        {
            (await Scheduler.RunDueAsync(first.AddSeconds(60), CancellationToken.None)).ShouldBeEmpty();
            (await Scheduler.RunDueAsync(first.AddSeconds(90), CancellationToken.None)).ShouldBeEmpty();
            (await CronRunsAsync(kbatch, name)).ShouldBeEmpty();
            var next = first.AddMinutes(5);
            (await Scheduler.RunDueAsync(next.AddSeconds(5), CancellationToken.None)).ShouldBe([$"{name}-{Minutes(next)}"]);
        }
        finally
        {
            await DeleteCronAsync(kbatch, name);
        }
    }

    /// <summary>Submits a */5 cron job; returns its name and its first due time (the next multiple of 5 minutes).</summary>
    private static async Task<(string Name, DateTime First)> SubmitAsync(Kbatch kbatch, string prefix, IReadOnlyList<string> command,
        byte[]? code = null, Action<JsonObject>? tweak = null)
    {
        var cron = await kbatch.SubmitAsync(KbatchBodies.CronJob(prefix, "*/5 * * * *", command, code, tweak), "cronjobs/");
        var created = DateTime.Parse(cron.GetProperty("metadata").GetProperty("creation_timestamp").GetString()!, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal);
        var minutes = (long)(created - DateTime.UnixEpoch).TotalMinutes / 5 * 5 + 5;
        return (Kbatch.Name(cron), DateTime.UnixEpoch.AddMinutes(minutes));
    }

    private static long Minutes(DateTime time) => (long)(time - DateTime.UnixEpoch).TotalMinutes;

    private static async Task<List<string>> CronRunsAsync(Kbatch kbatch, string cron) =>
        (await kbatch.JobsAsync()).Select(Kbatch.Name).Where(n => n.StartsWith(cron + "-", StringComparison.Ordinal)).ToList();

    private static async Task DeleteCronAsync(Kbatch kbatch, string name) =>
        (await kbatch.DeleteAsync($"cronjobs/{name}")).StatusCode.ShouldBe(HttpStatusCode.OK);
}
