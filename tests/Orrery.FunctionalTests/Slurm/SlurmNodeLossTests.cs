using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Gateway;
using Orrery.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// A node dies under a cluster of three Slurm workers (the scheduler runs locally): its slurmd and everything it ran
/// are killed. Slurm marks the node down and its jobs NODE_FAIL (not requeued), Orrery records the workers as lost
/// and starts replacements, which Slurm places on the nodes still up: the cluster is back to three workers.
/// </summary>
[Collection("slurm")]
public sealed class SlurmNodeLossTests(ITestOutputHelper output)
{
    [SlurmFact]
    public async Task NodeDies_ItsWorkersReplacedOnOtherNodes_BackToThreeRegistered()
    {
        await SlurmCluster.WaitAllIdleAsync();
        var clock = Stopwatch.StartNew();
        await using var server = await OrreryTestServer.StartAsync(SlurmCluster.Settings(new Dictionary<string, string?>
        {
            ["Orrery:Gateway:WorkerBackend"] = "slurm",
        }));
        var (_, token) = await server.CreateUserAsync("slurm-loss");
        using var gateway = new GatewayClient(server, token);
        var name = await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["worker_memory"] = 0.5 });
        string? crashed = null;
        try
        {
            await gateway.WaitRunningAsync(name);
            (await gateway.Http.PostAsJsonAsync($"api/v1/clusters/{name}/scale", new { count = 3 })).EnsureSuccessStatusCode();
            await Eventually.TrueAsync(async () => (await DaskClient.RegisteredAsync(server, name)).Count == 3, seconds: 90);
            var before = await WorkerNodesAsync(server, name);
            output.WriteLine($"3 workers after {clock.Elapsed.TotalSeconds:0.0} s on {string.Join(", ", before.Values)}");

            // The node with the most workers dies.
            crashed = before.Values.GroupBy(n => n).OrderByDescending(g => g.Count()).First().Key;
            var lost = before.Where(w => w.Value == crashed).Select(w => w.Key).ToList();
            var killedJobs = await SlurmCluster.CrashNodeAsync(crashed);
            var crashedAt = clock.Elapsed;
            output.WriteLine($"crashed {crashed} (jobs {string.Join(", ", killedJobs)}) at {crashedAt.TotalSeconds:0.0} s");

            // Back to three registered workers, none of them on the dead node, within a generous bound.
            await Eventually.TrueAsync(async () =>
            {
                var registered = await DaskClient.RegisteredAsync(server, name);
                var nodes = await WorkerNodesAsync(server, name);
                return registered.Count == 3 && registered.SetEquals(nodes.Keys) && !nodes.ContainsValue(crashed);
            }, seconds: 90);
            output.WriteLine($"3 workers again after {(clock.Elapsed - crashedAt).TotalSeconds:0.0} s: {string.Join(", ", (await WorkerNodesAsync(server, name)).Values)}");

            // The lost workers' jobs ended NODE_FAIL (not requeued to run again later), and Orrery says why they ended.
            (await SlurmCluster.NodeStateAsync(crashed)).ShouldStartWith("down");
            foreach (var id in killedJobs)
            {
                var shown = await SlurmCluster.ShowJobAsync(id);
                shown["JobState"].ShouldBe("NODE_FAIL");
                shown["Restarts"].ShouldBe("0");
            }
            await using (var scope = server.Services.CreateAsyncScopeHelper())
            {
                var ended = await scope.Db().Resources.AsNoTracking().Where(r => r.Parent == name && lost.Contains(r.Name)).ToListAsync();
                ended.Count.ShouldBe(lost.Count);
                ended.ShouldAllBe(r => r.State == ResourceState.Failed && r.Reason!.Contains("NODE_FAIL"));
            }
            (await gateway.ReportAsync(name)).GetProperty("status").GetString().ShouldBe("RUNNING");
        }
        finally
        {
            await gateway.StopQuietlyAsync(name);
            if (crashed is not null)
                await SlurmCluster.RestartNodeAsync(crashed);
        }
    }

    /// <summary>The Slurm node of each live worker that Slurm is running, by worker name.</summary>
    private static async Task<Dictionary<string, string>> WorkerNodesAsync(OrreryTestServer server, string cluster)
    {
        var running = (await SlurmCluster.QueuedAsync()).Where(j => j.State == "RUNNING").ToDictionary(j => j.Id);
        return (await DaskClient.LiveWorkersAsync(server, cluster))
            .Where(w => running.ContainsKey(w.SlurmJobId))
            .ToDictionary(w => w.Name, w => running[w.SlurmJobId].NodeList);
    }
}
