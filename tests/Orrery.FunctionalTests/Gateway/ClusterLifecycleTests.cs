using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>What happens to a cluster on its own: idle timeout, a dying scheduler, a dying worker.</summary>
public class ClusterLifecycleTests(ClusterLifecycleTests.FastServer fixture) : IClassFixture<ClusterLifecycleTests.FastServer>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task IdleTimeout_NoWork_ClusterStopped()
    {
        var name = await CreateRunningAsync(new { worker_memory = 0.25, idle_timeout = 2 });
        await Eventually.TrueAsync(async () => (await ClusterAsync(name)).State == ResourceState.Stopped, seconds: 60);
        (await ClusterAsync(name)).Reason.ShouldBe("Stopped after being idle.");
        await NoLiveProcessesAsync(name);
    }

    [Fact]
    public async Task SchedulerDies_ClusterFailedWithLastLogLines_ShownOnClustersPage()
    {
        var (user, token) = await Server.CreateUserAsync("crash", password: "crash-password");
        var name = await CreateRunningAsync(new { worker_memory = 0.25 }, token);
        await KillAsync(await ResourcesAsync(name, ResourceKind.Scheduler));
        await Eventually.TrueAsync(async () => (await ClusterAsync(name)).State == ResourceState.Failed, seconds: 60);
        var reason = (await ClusterAsync(name)).Reason!;
        reason.ShouldContain("The scheduler exited");
        reason.ShouldContain("Last log lines");
        reason.ShouldContain("Scheduler at"); // a line from distributed's own log
        await NoLiveProcessesAsync(name);

        using var browser = await Browser.LoggedInAsync(Server, user, "crash-password");
        var page = await browser.GetStringAsync("services/dask-gateway/");
        page.ShouldContain(name);
        page.ShouldContain("FAILED");
        page.ShouldContain("The scheduler exited");
    }

    [Fact]
    public async Task WorkerDies_ReplacedUpToTarget()
    {
        var name = await CreateRunningAsync(new { worker_memory = 0.25 });
        try
        {
            using (var client = Server.AdminClient())
                (await client.PostAsJsonAsync($"services/dask-gateway/api/v1/clusters/{name}/scale", new { count = 1 })).EnsureSuccessStatusCode();
            await Eventually.TrueAsync(async () => (await LiveWorkersAsync(name)).Count(w => w.State == ResourceState.Running) == 1, seconds: 60);
            var first = (await LiveWorkersAsync(name)).Single();
            await KillAsync([first]);
            await Eventually.TrueAsync(async () => (await LiveWorkersAsync(name)).Any(w => w.Id != first.Id && w.State == ResourceState.Running), seconds: 60);
            (await ClusterAsync(name)).State.ShouldBe(ResourceState.Running);
        }
        finally
        {
            using var client = Server.AdminClient();
            await client.DeleteAsync($"services/dask-gateway/api/v1/clusters/{name}");
            await NoLiveProcessesAsync(name);
        }
    }

    private async Task<string> CreateRunningAsync(object options, string? token = null)
    {
        using var client = token is null ? Server.AdminClient() : Server.Client(token);
        var created = await client.PostAsJsonAsync("services/dask-gateway/api/v1/clusters/", new { cluster_options = options });
        created.EnsureSuccessStatusCode();
        var name = (await created.JsonAsync()).GetProperty("name").GetString()!;
        await Eventually.TrueAsync(async () => (await ClusterAsync(name)).State == ResourceState.Running, seconds: 90);
        return name;
    }

    private async Task<DaskCluster> ClusterAsync(string name)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<OrreryDb>().Clusters.AsNoTracking().SingleAsync(c => c.Name == name);
    }

    private async Task<List<ComputeResource>> ResourcesAsync(string name, ResourceKind kind)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<OrreryDb>().Resources.AsNoTracking()
            .Where(r => r.Parent == name && r.Kind == kind).ToListAsync();
    }

    private async Task<List<ComputeResource>> LiveWorkersAsync(string name) =>
        (await ResourcesAsync(name, ResourceKind.Worker)).Where(r => !ResourceLifecycle.IsTerminal(r.State) && !r.StopRequested).ToList();

    private async Task NoLiveProcessesAsync(string name) =>
        await Eventually.TrueAsync(async () =>
        {
            await using var scope = Server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
            return !await db.Resources.AnyAsync(r => r.Parent == name && r.State != ResourceState.Stopped && r.State != ResourceState.Failed);
        }, seconds: 60);

    /// <summary>SIGKILL to a resource's whole process group, as a crash or the OOM killer would.</summary>
    private static async Task KillAsync(IEnumerable<ComputeResource> resources)
    {
        foreach (var resource in resources)
        {
            var pid = JsonDocument.Parse(resource.Handle!).RootElement.GetProperty("pid").GetInt32();
            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", "--", "-" + pid]);
            await kill.WaitForExitAsync();
        }
    }

    public sealed class FastServer : IAsyncLifetime
    {
        public OrreryTestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await OrreryTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Orrery:Gateway:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Compute:StopGrace"] = "00:00:03",
        });

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }
}
