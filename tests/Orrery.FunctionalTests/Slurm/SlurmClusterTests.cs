using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.FunctionalTests.Gateway;
using Orrery.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// Dask clusters whose scheduler and workers are Slurm jobs (<c>SchedulerBackend=slurm</c>, <c>WorkerBackend=slurm</c>):
/// scaling starts and ends Slurm jobs, the workers spread over the nodes, and a real dask client computes through the
/// SNI proxy on Orrery's own port.
/// </summary>
[Collection("slurm")]
public sealed class SlurmClusterTests(SlurmClusterTests.Fixture fixture, ITestOutputHelper output) : IClassFixture<SlurmClusterTests.Fixture>
{
    public sealed class Fixture : GatewayFixture
    {
        protected override IReadOnlyDictionary<string, string?> Settings => SlurmCluster.Settings(new Dictionary<string, string?>
        {
            ["Orrery:Gateway:SchedulerBackend"] = "slurm",
            ["Orrery:Gateway:WorkerBackend"] = "slurm",
            ["Orrery:Gateway:AdaptivePeriod"] = "00:00:01",
        });
    }

    private OrreryTestServer Server => fixture.Server;

    /// <summary>
    /// Workers of 1.25 GiB on nodes of 2000 MB (the scheduler takes 500 MB of one): no node can hold two, so three
    /// workers are one per node whatever Slurm's placement order.
    /// </summary>
    [SlurmFact]
    public async Task ScaleTo3_OneWorkerPerNode_ComputesThroughTheSniProxy_ScaleDownEndsTheExtraJobs()
    {
        await SlurmCluster.WaitAllIdleAsync();
        var clock = Stopwatch.StartNew();
        var (token, gateway) = await UserAsync("slurm-scale");
        using var _ = gateway;
        var name = await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["worker_memory"] = 1.25 });
        try
        {
            await gateway.WaitRunningAsync(name);
            output.WriteLine($"running after {clock.Elapsed.TotalSeconds:0.0} s");
            var scheduler = await SchedulerJobAsync(name);
            scheduler.State.ShouldBe("RUNNING");

            (await gateway.Http.PostAsJsonAsync($"api/v1/clusters/{name}/scale", new { count = 3 })).EnsureSuccessStatusCode();
            await Eventually.TrueAsync(async () => (await DaskClient.RegisteredAsync(Server, name)).Count == 3, seconds: 90);
            output.WriteLine($"3 workers registered after {clock.Elapsed.TotalSeconds:0.0} s");

            // Three Slurm jobs, named after the workers the scheduler knows, on three different nodes.
            var workers = await DaskClient.LiveWorkersAsync(Server, name);
            workers.Count.ShouldBe(3);
            (await DaskClient.RegisteredAsync(Server, name)).ShouldBe(workers.Select(w => w.Name).ToHashSet(), ignoreOrder: true);
            var nodes = new List<string>();
            foreach (var (_, slurmId) in workers)
            {
                var shown = await SlurmCluster.ShowJobAsync(slurmId);
                shown["JobState"].ShouldBe("RUNNING");
                shown["Partition"].ShouldBe(SlurmCluster.Partition);
                shown["MinMemoryNode"].ShouldBe("1280M");
                nodes.Add(shown["NodeList"]);
            }
            nodes.ShouldBe(SlurmCluster.Nodes, ignoreOrder: true);

            // A real client, through the SNI proxy: the work runs, and each worker says which Slurm node it is on.
            var computed = await DaskClient.RunAsync(Server, token, name, "compute");
            output.WriteLine($"computed after {clock.Elapsed.TotalSeconds:0.0} s: {computed}");
            computed.GetProperty("sum").GetInt32().ShouldBe(499500);
            computed.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()).ShouldBe(SlurmCluster.Nodes, ignoreOrder: true);

            // Down to one: two Slurm jobs end (the scheduler retires them; Orrery scancels them), one keeps running.
            (await gateway.Http.PostAsJsonAsync($"api/v1/clusters/{name}/scale", new { count = 1 })).EnsureSuccessStatusCode();
            await Eventually.TrueAsync(async () => (await DaskClient.QueuedWorkerJobsAsync(Server, name)).Count == 1, seconds: 60);
            await Eventually.TrueAsync(async () => (await DaskClient.RegisteredAsync(Server, name)).Count == 1);
            var left = (await DaskClient.QueuedWorkerJobsAsync(Server, name)).ShouldHaveSingleItem();
            left.State.ShouldBe("RUNNING");
            foreach (var (_, slurmId) in workers.Where(w => w.SlurmJobId != left.Id))
            {
                (await SlurmCluster.SqueueStateAsync(slurmId)).ShouldBe("");
                SlurmCluster.JobProcesses([slurmId]).ShouldBeEmpty();
            }
            output.WriteLine($"scaled down after {clock.Elapsed.TotalSeconds:0.0} s");

            // Stopping the cluster ends the scheduler's job and the last worker's.
            (await gateway.Http.DeleteAsync($"api/v1/clusters/{name}")).EnsureSuccessStatusCode();
            await gateway.WaitStoppedAsync(name);
            await Eventually.TrueAsync(async () => await SlurmCluster.SqueueStateAsync(scheduler.Id) == "" && await SlurmCluster.SqueueStateAsync(left.Id) == "");
            output.WriteLine($"stopped after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await gateway.StopQuietlyAsync(name);
        }
    }

    [SlurmFact]
    public async Task Adapt0To3_GrowsUnderAWorkload_ShrinksAfter()
    {
        var clock = Stopwatch.StartNew();
        var (token, gateway) = await UserAsync("slurm-adapt");
        using var _ = gateway;
        var name = await gateway.CreateClusterAsync();
        try
        {
            await gateway.WaitRunningAsync(name);

            // The client turns adaptivity on and runs 24 one-second tasks; meanwhile Slurm's queue is watched.
            var peakJobs = 0;
            var client = DaskClient.RunAsync(Server, token, name, "adapt", "3");
            while (!client.IsCompleted)
            {
                peakJobs = Math.Max(peakJobs, (await DaskClient.QueuedWorkerJobsAsync(Server, name)).Count(j => j.State == "RUNNING"));
                await Task.WhenAny(client, Task.Delay(300));
            }
            var result = await client;
            output.WriteLine($"adapt run after {clock.Elapsed.TotalSeconds:0.0} s: {result}; peak {peakJobs} running Slurm worker jobs");
            result.GetProperty("adapt").GetProperty("ok").GetBoolean().ShouldBeTrue();
            result.GetProperty("ok").GetBoolean().ShouldBeTrue();
            result.GetProperty("peak").GetInt32().ShouldBeInRange(2, 3);
            result.GetProperty("final").GetInt32().ShouldBe(0);
            peakJobs.ShouldBeInRange(2, 3);

            // Shrunk to nothing: no worker job left in Slurm's queue; the cluster (its scheduler job) still runs.
            await Eventually.TrueAsync(async () => (await DaskClient.QueuedWorkerJobsAsync(Server, name)).Count == 0, seconds: 30);
            (await gateway.ReportAsync(name)).GetProperty("status").GetString().ShouldBe("RUNNING");
            (await SchedulerJobAsync(name)).State.ShouldBe("RUNNING");
            output.WriteLine($"shrunk after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await gateway.StopQuietlyAsync(name);
        }
    }

    private async Task<(string Token, GatewayClient Client)> UserAsync(string prefix)
    {
        var (_, token) = await Server.CreateUserAsync(prefix);
        return (token, new GatewayClient(Server, token));
    }

    /// <summary>The Slurm job of the cluster's scheduler.</summary>
    private async Task<SlurmCluster.Job> SchedulerJobAsync(string cluster)
    {
        await using var scope = Server.Services.CreateAsyncScopeHelper();
        var resource = await scope.Db().Resources.AsNoTracking().SingleAsync(r => r.Parent == cluster && r.Kind == ResourceKind.Scheduler);
        resource.Backend.ShouldBe("slurm");
        var id = JsonDocument.Parse(resource.Handle!).RootElement.GetProperty("JobId").GetString()!;
        return (await SlurmCluster.JobsAsync($"orrery-{resource.Id}")).Single(j => j.Id == id);
    }
}
