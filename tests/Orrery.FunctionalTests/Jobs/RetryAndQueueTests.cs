using System.Text.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Jobs;

public sealed class QueueFixture : JobsFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Fast(new Dictionary<string, string?>
    {
        ["Orrery:Jobs:MaxConcurrentJobs"] = "1",
        ["Orrery:Jobs:MaxCores"] = "2",
        ["Orrery:Jobs:MaxMemory"] = "1G",
    });
}

/// <summary>Retries up to the backoff limit (a pod per attempt), the per-user queue, and per-job limits.</summary>
public class RetryAndQueueTests(QueueFixture fixture) : IClassFixture<QueueFixture>
{
    [Fact]
    public async Task BackoffLimit2_AlwaysFailing_ThreePods_Failed()
    {
        var (_, _, kbatch) = await fixture.UserAsync("retry");
        using var _ = kbatch;
        var jobName = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("fail", ["sh", "-c", "echo try; exit 1"], backoffLimit: 2)));
        var failed = await kbatch.WaitFinishedAsync(jobName);
        JobsApiTests.CheckStatusShape(failed);
        KbatchTable.Status(failed).ShouldBe("failed");
        Kbatch.Count(failed, "failed")!.Value.ShouldBeGreaterThanOrEqualTo(1);
        Kbatch.Count(failed, "succeeded").ShouldBeNull();
        var condition = failed.GetProperty("status").GetProperty("conditions").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "Failed");
        condition.GetProperty("reason").GetString().ShouldBe("BackoffLimitExceeded");
        failed.GetProperty("spec").GetProperty("backoff_limit").GetInt32().ShouldBe(2);

        var pods = await kbatch.PodsAsync(jobName);
        pods.Length.ShouldBe(3);
        pods.Select(Kbatch.Name).Distinct().Count().ShouldBe(3);
        foreach (var pod in pods)
        {
            pod.GetProperty("status").GetProperty("phase").GetString().ShouldBe("Failed");
            (await kbatch.LogsAsync($"pods/logs/{Kbatch.Name(pod)}/")).ShouldBe("try\n");
        }
    }

    [Fact]
    public async Task FailsFirstThenSucceeds_SucceededAfterRetry_TableRendersWhileRetrying()
    {
        var (_, _, kbatch) = await fixture.UserAsync("flaky");
        using var _ = kbatch;
        // Each attempt has a fresh working directory: the counter lives under /tmp, keyed by a unique id.
        var counter = Path.Combine(Path.GetTempPath(), "orrery-count-" + Guid.NewGuid().ToString("N"));
        var go = JobsApiTests.GoFile();
        var script = $"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo attempt $n; "
                     + $"[ $n -ge 2 ] || exit 7; while [ ! -f {go} ]; do sleep 0.1; done; echo ok";
        try
        {
            var jobName = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("flaky", ["sh", "-c", script], backoffLimit: 3)));

            // The second attempt runs after the first failed: failed 1, not finished. kbatch job list must still render
            // (the failed count needs a conditions list).
            var retrying = await kbatch.WaitForAsync(jobName, j => Kbatch.Count(j, "failed") == 1 && Kbatch.Count(j, "ready") == 1);
            JobsApiTests.CheckStatusShape(retrying);
            KbatchTable.Status(retrying).ShouldBe("failed");   // the CLI's priority: failed before running
            KbatchTable.Duration(retrying, DateTimeOffset.UtcNow).ShouldBe("-");
            Kbatch.IsFinished(retrying).ShouldBeFalse();

            File.WriteAllText(go, "");
            var done = await kbatch.WaitFinishedAsync(jobName);
            JobsApiTests.CheckStatusShape(done);
            Kbatch.Count(done, "succeeded").ShouldBe(1);
            Kbatch.Count(done, "failed").ShouldBe(1);
            done.GetProperty("status").GetProperty("conditions").EnumerateArray()
                .ShouldContain(c => c.GetProperty("type").GetString() == "Complete");
            KbatchTable.Duration(done, DateTimeOffset.UtcNow).ShouldMatch(@"^0:00:\d\d$");
            var pods = await kbatch.PodsAsync(jobName);
            pods.Select(p => p.GetProperty("status").GetProperty("phase").GetString()).ShouldBe(["Failed", "Succeeded"]);
            (await kbatch.LogsAsync($"pods/logs/{Kbatch.Name(pods[1])}/")).ShouldBe("attempt 2\nok\n");
        }
        finally
        {
            File.WriteAllText(go, "");
            File.Delete(counter);
        }
    }

    [Fact]
    public async Task MaxConcurrentJobs1_SecondWaitsNamingTheLimit_ThenRuns()
    {
        var (_, token, kbatch) = await fixture.UserAsync("queue");
        using var _ = kbatch;
        var go = JobsApiTests.GoFile();
        try
        {
            var first = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("first", ["sh", "-c", $"while [ ! -f {go} ]; do sleep 0.1; done"])));
            await kbatch.WaitForAsync(first, j => Kbatch.Count(j, "ready") == 1);
            var second = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("second", ["echo", "second ran"])));

            var waiting = await kbatch.WaitForAsync(second, j => j.GetProperty("status").GetProperty("conditions").ValueKind == JsonValueKind.Array);
            JobsApiTests.CheckStatusShape(waiting);
            KbatchTable.Status(waiting).ShouldBe("pending");
            var condition = waiting.GetProperty("status").GetProperty("conditions")[0];
            condition.GetProperty("message").GetString()!.ShouldContain("Orrery:Jobs:MaxConcurrentJobs");
            var pod = (await kbatch.PodsAsync(second)).Single();
            pod.GetProperty("status").GetProperty("phase").GetString().ShouldBe("Pending");
            pod.GetProperty("status").GetProperty("message").GetString()!.ShouldContain("1 of 1 jobs");
            var podName = Kbatch.Name(pod);
            (await Kbatch.DetailAsync(await kbatch.GetAsync($"pods/logs/{podName}/"), 400))
                .ShouldBe($"container \"job\" in pod \"{podName}\" is waiting to start: ContainerCreating");
            (await Kbatch.DetailAsync(await kbatch.GetAsync($"jobs/logs/{second}/"), 400)).ShouldContain("waiting to start");

            // Still waiting a few passes later; a stream opened now waits for the start, then follows.
            await Task.Delay(600);
            KbatchTable.Status(await kbatch.JobAsync(second)).ShouldBe("pending");
            var stream = Task.Run(async () =>
            {
                var chunks = new List<string>();
                await foreach (var chunk in RawChunks.ReadAsync(fixture.Server.BaseAddress, $"{Kbatch.Prefix}pods/logs/{podName}/?stream=true", token))
                    chunks.Add(chunk);
                return chunks;
            });

            // A queued job deleted before it ran: gone at once, and a stream waiting for it ends.
            var third = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("third", ["echo", "never"])));
            var thirdPod = Kbatch.Name((await kbatch.PodsAsync(third)).Single());
            var thirdStream = Task.Run(async () =>
            {
                var chunks = new List<string>();
                await foreach (var chunk in RawChunks.ReadAsync(fixture.Server.BaseAddress, $"{Kbatch.Prefix}pods/logs/{thirdPod}/?stream=true", token))
                    chunks.Add(chunk);
                return chunks;
            });
            await Task.Delay(300);
            (await kbatch.DeleteAsync($"jobs/{third}")).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
            (await kbatch.FindJobAsync(third)).ShouldBeNull();
            (await thirdStream.WaitAsync(TimeSpan.FromSeconds(10))).ShouldBeEmpty();

            File.WriteAllText(go, "");
            KbatchTable.Status(await kbatch.WaitFinishedAsync(first)).ShouldBe("done");
            var done = await kbatch.WaitFinishedAsync(second);
            KbatchTable.Status(done).ShouldBe("done");
            (await kbatch.LogsAsync($"jobs/logs/{second}/")).ShouldBe("second ran\n");
            (await stream.WaitAsync(TimeSpan.FromSeconds(20))).ShouldBe(["second ran"]);
            (await kbatch.JobsAsync()).Select(Kbatch.Name).ShouldBe([first, second], ignoreOrder: true);
        }
        finally
        {
            File.WriteAllText(go, "");
        }
    }

    [Fact]
    public async Task JobAboveTheUserLimits_422NamingTheSetting()
    {
        var (name, _, kbatch) = await fixture.UserAsync("limits");
        using var _ = kbatch;
        var cores = KbatchBodies.Job("cores", ["true"], limits: new Dictionary<string, string> { ["cpu"] = "4" });
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", cores), 422)).ShouldContain("Orrery:Jobs:MaxCores");
        var memory = KbatchBodies.Job("memory", ["true"], requests: new Dictionary<string, string> { ["memory"] = "2Gi" });
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", memory), 422)).ShouldContain("Orrery:Jobs:MaxMemory");
        var badQuantity = KbatchBodies.Job("q", ["true"], limits: new Dictionary<string, string> { ["memory"] = "lots" });
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", badQuantity), 422)).ShouldContain("memory");
        var cronMemory = KbatchBodies.CronJob("cm", "*/5 * * * *", ["true"], tweak: spec =>
            spec["job_template"]!["spec"]!["template"]!["spec"]!["containers"]![0]!["resources"]!["limits"] =
                new System.Text.Json.Nodes.JsonObject { ["cpu"] = "3" });
        // A cron job whose runs could never start is refused at submit too, rather than failing at every run.
        (await Kbatch.DetailAsync(await kbatch.PostAsync("cronjobs/", cronMemory), 422)).ShouldContain("Orrery:Jobs:MaxCores");
        (await (await kbatch.GetAsync("cronjobs/")).JsonAsync()).GetProperty("items").GetArrayLength().ShouldBe(0);

        (await kbatch.JobsAsync()).ShouldBeEmpty();
        (await JobProcesses.JobRowsAsync(fixture.Server, name)).ShouldBeEmpty();

        // Within the limits: accepted, with the resources shown as Kubernetes quantities.
        var fits = KbatchBodies.Job("fits", ["true"], limits: new Dictionary<string, string> { ["cpu"] = "500m", ["memory"] = "512Mi" });
        var job = await kbatch.SubmitAsync(fits);
        var resources = job.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0].GetProperty("resources");
        resources.GetProperty("limits").GetProperty("cpu").GetString().ShouldBe("0.5");
        resources.GetProperty("limits").GetProperty("memory").GetString().ShouldBe((512L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await kbatch.WaitFinishedAsync(Kbatch.Name(job));
    }
}
