using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.FunctionalTests.Jobs;
using Orrery.Storage.Entities;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// kbatch jobs on the Slurm backend (<c>Orrery:Jobs:Backend=slurm</c>) of the real test cluster: each attempt is a
/// Slurm batch job named <c>orrery-&lt;resource&gt;</c>; its output streams, its exit status, Slurm's OOM kill and
/// Slurm's refusals come back through the kbatch API, and deleting the job scancels it.
/// </summary>
[Collection("slurm")]
public sealed class SlurmJobsTests(SlurmJobsTests.Fixture fixture) : IClassFixture<SlurmJobsTests.Fixture>
{
    public sealed class Fixture : JobsFixture
    {
        protected override IReadOnlyDictionary<string, string?> Settings =>
            SlurmCluster.Unavailable() is null ? SlurmCluster.Settings(new Dictionary<string, string?> { ["Orrery:Jobs:Backend"] = "slurm" }) : Fast();
    }

    private OrreryTestServer Server => fixture.Server;

    [SlurmFact]
    public async Task Job_RunsAsNamedSlurmJob_LogStreamsLineByLine_ExitZeroIsDone()
    {
        var (_, token, kbatch) = await fixture.UserAsync("slurm-ok");
        using var _ = kbatch;
        const string script = "echo \"line 1 on $SLURMD_NODENAME\"; for i in 2 3 4 5; do sleep 0.4; echo \"line $i\"; done";
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-ok", ["sh", "-c", script])));
        var pod = Kbatch.Name((await kbatch.PodsAsync(job)).Single());

        // Streamed from the start: the pod may not have reached Slurm yet, or Slurm may not have started it.
        var chunks = new List<string>();
        var finishedWhenFirstArrived = true;
        await foreach (var chunk in RawChunks.ReadAsync(Server.BaseAddress, $"{Kbatch.Prefix}pods/logs/{pod}/?stream=true", token))
        {
            if (chunks.Count == 0)
                finishedWhenFirstArrived = Kbatch.IsFinished(await kbatch.JobAsync(job));
            chunks.Add(chunk);
        }
        chunks.Count.ShouldBe(5, string.Join(" | ", chunks));
        chunks[0].ShouldMatch("^line 1 on n[123]$");
        chunks[1..].ShouldBe(["line 2", "line 3", "line 4", "line 5"]);
        finishedWhenFirstArrived.ShouldBeFalse("the first line should arrive while the job still runs");

        var done = await kbatch.WaitFinishedAsync(job);
        KbatchTable.Status(done).ShouldBe("done");
        ExitCode((await kbatch.PodsAsync(job)).Single()).ShouldBe(0);

        // Slurm ran it, under the resource's name, on the configured partition, and remembers it as completed.
        var (resourceId, slurmId) = await SlurmJobOfAsync(pod);
        var slurmJob = (await SlurmCluster.JobsAsync($"orrery-{resourceId}")).ShouldHaveSingleItem();
        slurmJob.Id.ShouldBe(slurmId);
        var shown = await SlurmCluster.ShowJobAsync(slurmId);
        shown["JobName"].ShouldBe($"orrery-{resourceId}");
        shown["Partition"].ShouldBe(SlurmCluster.Partition);
        shown["JobState"].ShouldBe("COMPLETED");
        shown["ExitCode"].ShouldBe("0:0");
        shown["NodeList"].ShouldBe(chunks[0]["line 1 on ".Length..]);
        (await SlurmCluster.SqueueStateAsync(slurmId)).ShouldBe("");
        (await kbatch.LogsAsync($"jobs/logs/{job}/")).ShouldBe(string.Join('\n', chunks) + "\n");
    }

    [SlurmFact]
    public async Task Job_Exiting3_FailedWithExitCode3()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slurm-exit");
        using var _ = kbatch;
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-exit", ["sh", "-c", "echo giving up; exit 3"])));

        var failed = await kbatch.WaitFinishedAsync(job);
        KbatchTable.Status(failed).ShouldBe("failed");
        FailedMessage(failed).ShouldContain("exited with status 3");
        var pod = (await kbatch.PodsAsync(job)).Single();
        ExitCode(pod).ShouldBe(3);
        var (_, slurmId) = await SlurmJobOfAsync(Kbatch.Name(pod));
        var shown = await SlurmCluster.ShowJobAsync(slurmId);
        shown["JobState"].ShouldBe("FAILED");
        shown["ExitCode"].ShouldBe("3:0");
        (await kbatch.LogsAsync($"jobs/logs/{job}/")).ShouldBe("giving up\n");
    }

    [SlurmFact]
    public async Task Job_OverItsMemoryLimit_FailedWithOutOfMemory_InJobShow()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slurm-oom");
        using var _ = kbatch;
        const string hog = "import time; print('allocating', flush=True); b = bytearray(500 * 1024 * 1024); time.sleep(5); print('survived')";
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-oom", ["/usr/bin/python3", "-c", hog],
            limits: new Dictionary<string, string> { ["memory"] = "100Mi" })));

        await kbatch.WaitFinishedAsync(job, seconds: 60);
        // What `kbatch job show` prints: GET jobs/<name>.
        var shown = await (await kbatch.GetAsync($"jobs/{job}")).JsonAsync();
        KbatchTable.Status(shown).ShouldBe("failed");
        FailedMessage(shown).ShouldContain("OUT_OF_MEMORY");
        var pod = (await kbatch.PodsAsync(job)).Single();
        var (_, slurmId) = await SlurmJobOfAsync(Kbatch.Name(pod));
        var slurm = await SlurmCluster.ShowJobAsync(slurmId);
        slurm["MinMemoryNode"].ShouldBe("100M");
        slurm["JobState"].ShouldBe("OUT_OF_MEMORY");
        (await kbatch.LogsAsync($"jobs/logs/{job}/")).ShouldNotContain("survived");
    }

    [SlurmFact]
    public async Task Job_MoreMemoryThanAnyNode_RefusedBySbatch_FailedWithItsMessage()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slurm-mem");
        using var _ = kbatch;
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-mem", ["true"],
            limits: new Dictionary<string, string> { ["memory"] = "100Gi" })));

        var failed = await kbatch.WaitFinishedAsync(job);
        KbatchTable.Status(failed).ShouldBe("failed");
        var message = FailedMessage(failed);
        message.ShouldContain("Slurm refused the job");
        message.ShouldContain("Memory specification can not be satisfied");               // sbatch's own words
        message.ShouldContain("Requested node configuration is not available");
        var resource = await ResourceOfAsync(Server, Kbatch.Name((await kbatch.PodsAsync(job)).Single()));
        resource.Handle.ShouldBeNull();
        // Slurm keeps a record of the refused submission (FAILED, reason BadConstraints), and nothing runs.
        (await SlurmCluster.JobsAsync($"orrery-{resource.Id}")).ShouldAllBe(j => j.State == "FAILED");
    }

    /// <summary>
    /// sbatch accepts 64 cores on 2-core nodes (the test partition, like Slurm's default, does not enforce its limits at
    /// submission) and Slurm would keep the job pending forever (reason PartitionConfig): the backend refuses it.
    /// </summary>
    [SlurmFact]
    public async Task Job_MoreCoresThanAnyNode_FailedAsRefused_NotPendingForever()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slurm-big");
        using var _ = kbatch;
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-big", ["true"],
            limits: new Dictionary<string, string> { ["cpu"] = "64" })));

        var failed = await kbatch.WaitFinishedAsync(job);
        KbatchTable.Status(failed).ShouldBe("failed");
        var message = FailedMessage(failed);
        message.ShouldContain("Slurm refused the job");
        message.ShouldContain("PartitionConfig");
        var (_, slurmId) = await SlurmJobOfAsync(Kbatch.Name((await kbatch.PodsAsync(job)).Single()));
        (await SlurmCluster.ShowJobAsync(slurmId))["NumCPUs"].ShouldBe("64");
        await Eventually.TrueAsync(async () => (await SlurmCluster.ShowJobAsync(slurmId))["JobState"] == "CANCELLED");
        (await SlurmCluster.SqueueStateAsync(slurmId)).ShouldBe("");
    }

    [SlurmFact]
    public async Task Job_OnAPartitionSlurmDoesNotHave_FailedWithSbatchsMessage()
    {
        await using var server = await OrreryTestServer.StartAsync(SlurmCluster.Settings(new Dictionary<string, string?>
        {
            ["Orrery:Jobs:Backend"] = "slurm",
            ["Orrery:Backends:Slurm:Partition"] = "nope",
        }));
        var (_, token) = await server.CreateUserAsync("slurm-nope");
        using var kbatch = new Kbatch(server.Client(token));
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-nope", ["true"])));

        var failed = await kbatch.WaitFinishedAsync(job);
        KbatchTable.Status(failed).ShouldBe("failed");
        var message = FailedMessage(failed);
        message.ShouldContain("Slurm refused the job");
        message.ShouldContain("invalid partition specified: nope");
        var resource = await ResourceOfAsync(server, Kbatch.Name((await kbatch.PodsAsync(job)).Single()));
        resource.Handle.ShouldBeNull();
        (await SlurmCluster.JobsAsync($"orrery-{resource.Id}")).ShouldBeEmpty();
    }

    [SlurmFact]
    public async Task DeletingARunningJob_ScancelsIt()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slurm-del");
        using var _ = kbatch;
        var job = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("slurm-del", ["sh", "-c", "echo started; exec sleep 300"])));
        await kbatch.WaitForAsync(job, j => Kbatch.Count(j, "ready") == 1);
        var pod = Kbatch.Name((await kbatch.PodsAsync(job)).Single());
        var (_, slurmId) = await SlurmJobOfAsync(pod);
        await Eventually.TrueAsync(async () => await SlurmCluster.SqueueStateAsync(slurmId) == "RUNNING");
        await Eventually.TrueAsync(async () => (await kbatch.LogsAsync($"jobs/logs/{job}/")).Contains("started", StringComparison.Ordinal));

        (await kbatch.DeleteAsync($"jobs/{job}")).IsSuccessStatusCode.ShouldBeTrue();

        // It leaves Slurm's queue (well before the 300 s sleep ends) and Slurm records the cancel.
        await Eventually.TrueAsync(async () => await SlurmCluster.SqueueStateAsync(slurmId) == "", seconds: 30);
        (await SlurmCluster.ShowJobAsync(slurmId))["JobState"].ShouldBe("CANCELLED");
        SlurmCluster.JobProcesses([slurmId]).ShouldBeEmpty();
        await Eventually.TrueAsync(async () => await kbatch.FindJobAsync(job) is null);
    }

    /// <summary>The pod's compute resource id and the Slurm job id in its backend handle.</summary>
    private async Task<(string ResourceId, string SlurmJobId)> SlurmJobOfAsync(string podName) => await SlurmJobOfAsync(Server, podName);

    public static async Task<(string ResourceId, string SlurmJobId)> SlurmJobOfAsync(OrreryTestServer server, string podName)
    {
        var resource = await ResourceOfAsync(server, podName);
        return (resource.Id, JsonDocument.Parse(resource.Handle!).RootElement.GetProperty("JobId").GetString()!);
    }

    public static async Task<ComputeResource> ResourceOfAsync(OrreryTestServer server, string name)
    {
        await using var scope = server.Services.CreateAsyncScopeHelper();
        var resource = await scope.Db().Resources.AsNoTracking().SingleAsync(r => r.Name == name);
        resource.Backend.ShouldBe("slurm");
        return resource;
    }

    private static int ExitCode(JsonElement pod) =>
        pod.GetProperty("status").GetProperty("container_statuses")[0].GetProperty("state").GetProperty("terminated").GetProperty("exit_code").GetInt32();

    private static string FailedMessage(JsonElement job) =>
        job.GetProperty("status").GetProperty("conditions").EnumerateArray()
            .Single(c => c.GetProperty("type").GetString() == "Failed").GetProperty("message").GetString()!;
}
