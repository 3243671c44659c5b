using System.Net;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.FunctionalTests.Servers;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// A personal server whose profile says <c>Backend=slurm</c> (the cheap http.server profile): spawned as a Slurm job,
/// reached through the <c>/user/&lt;name&gt;/</c> proxy, and stopped with scancel.
/// </summary>
[Collection("slurm")]
public sealed class SlurmServerTests
{
    [SlurmFact]
    public async Task ServerOnSlurm_ReachedThroughTheUserProxy_StopScancelsIt()
    {
        await using var server = await OrreryTestServer.StartAsync(ServerProfiles.Settings(SlurmCluster.Settings(new Dictionary<string, string?>
        {
            ["Orrery:Servers:Profiles:0:Backend"] = "slurm",   // "tiny", the default profile
        })));
        var (name, token) = await server.CreateUserAsync("slurm-srv");
        using var client = server.Client(token);

        var started = await client.PostAsync($"hub/api/users/{name}/server", null);
        started.StatusCode.ShouldBeOneOf([HttpStatusCode.Created, HttpStatusCode.Accepted], await started.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(async () =>
        {
            var user = await (await client.GetAsync($"hub/api/users/{name}")).JsonAsync();
            return user.GetProperty("servers").TryGetProperty("", out var s) && s.GetProperty("ready").GetBoolean();
        }, seconds: 60);

        // It runs as a Slurm job, under the resource's name: the environment it wrote says so.
        string resourceId, slurmId;
        await using (var scope = server.Services.CreateAsyncScopeHelper())
        {
            var resource = await scope.Db().Resources.AsNoTracking().SingleAsync(r => r.Kind == ResourceKind.Server && r.OwnerId ==
                scope.Db().Users.Single(u => u.Name == name).Id);
            resource.Backend.ShouldBe("slurm");
            resourceId = resource.Id;
            slurmId = System.Text.Json.JsonDocument.Parse(resource.Handle!).RootElement.GetProperty("JobId").GetString()!;
        }
        var job = (await SlurmCluster.QueuedAsync($"orrery-{resourceId}")).ShouldHaveSingleItem();
        job.Id.ShouldBe(slurmId);
        job.State.ShouldBe("RUNNING");
        SlurmCluster.Nodes.ShouldContain(job.NodeList);
        var home = Path.Combine(server.DataDir, "homes", name);
        var environment = await File.ReadAllLinesAsync(Path.Combine(home, "env-.txt"));
        environment.ShouldContain($"SLURM_JOB_ID={slurmId}");
        environment.ShouldContain($"SLURMD_NODENAME={job.NodeList}");

        // Through the proxy: http.server serves the home, so a file written there comes back.
        var marker = Path.Combine(home, "user", name);
        Directory.CreateDirectory(marker);
        await File.WriteAllTextAsync(Path.Combine(marker, "marker.txt"), "served from slurm");
        (await client.GetStringAsync($"user/{name}/marker.txt")).ShouldBe("served from slurm");

        // Stopping it scancels the Slurm job: it leaves the queue, and the proxy no longer reaches it.
        var stopped = await client.DeleteAsync($"hub/api/users/{name}/server");
        stopped.IsSuccessStatusCode.ShouldBeTrue(await stopped.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(async () => await SlurmCluster.SqueueStateAsync(slurmId) == "", seconds: 30);
        (await SlurmCluster.ShowJobAsync(slurmId))["JobState"].ShouldBe("CANCELLED");
        SlurmCluster.JobProcesses([slurmId]).ShouldBeEmpty();
        await Eventually.TrueAsync(async () =>
        {
            var user = await (await client.GetAsync($"hub/api/users/{name}")).JsonAsync();
            return !user.GetProperty("servers").TryGetProperty("", out _);
        });
        (await client.GetAsync($"user/{name}/marker.txt")).StatusCode.ShouldNotBe(HttpStatusCode.OK);
    }
}
