using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Backends.Podman;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.FunctionalTests.Podman;

/// <summary>
/// The Podman backend inside a real Orrery (<c>Orrery:Backends:Podman:Enabled</c>): registered under "podman" with its
/// state under the data directory, driven by the compute reconciler, and its container ends reported to the
/// reconciler at once (its interval here is a minute, so only the report can explain a prompt end).
/// </summary>
[Collection("podman")]
public sealed class PodmanComputeTests
{
    private static Dictionary<string, string?> Settings => new()
    {
        ["Orrery:Backends:Podman:Enabled"] = "true",
        ["Orrery:Backends:Podman:ConfigFile"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF"),
        ["Orrery:Compute:ReconcileInterval"] = "00:01:00",
        ["Orrery:Compute:StopGrace"] = "00:00:05",
    };

    [PodmanFact]
    public async Task Resource_OnPodman_EndReportedAtOnce_StopOnRequest()
    {
        await using var server = await OrreryTestServer.StartAsync(Settings);
        server.Service<ComputeBackends>().Find("podman").ShouldBeOfType<PodmanBackend>();
        var ids = new List<string>();
        try
        {
            var failing = await RequestAsync(server, ids, ["python3", "-c", "import sys, time; time.sleep(1); print('bye'); sys.exit(3)"]);
            var failed = await WaitForStateAsync(server, failing, ResourceState.Failed, seconds: 15);
            failed.ExitCode.ShouldBe(3);
            JsonDocument.Parse(failed.Handle!).RootElement.GetProperty("Dir").GetString().ShouldBe(Path.Combine(server.DataDir, "podman", failing));

            var sleeping = await RequestAsync(server, ids, ["python3", "-c", "import time; time.sleep(600)"]);
            await WaitForStateAsync(server, sleeping, ResourceState.Running, seconds: 15);
            await using (var scope = server.Services.CreateAsyncScope())
                (await scope.ServiceProvider.GetRequiredService<ComputeService>().RequestStopAsync(sleeping, default)).ShouldBeTrue();
            (await WaitForStateAsync(server, sleeping, ResourceState.Stopped, seconds: 15)).ExitCode.ShouldBe(143);

            foreach (var id in ids)
            {
                var resource = await FindAsync(server, id);
                await server.Service<ComputeBackends>().Find("podman")!.ForgetAsync(new BackendHandle("podman", resource.Handle!), default);
                (await PodmanCli.RunAsync("container", "exists", $"orrery-{id}")).ExitCode.ShouldBe(1);
            }
        }
        finally
        {
            // The test server's clean-up stops what runs but forgets nothing: containers a failed test left go here.
            foreach (var id in ids)
                await PodmanCli.RunAsync("rm", "--force", "--ignore", "--time", "0", $"orrery-{id}");
        }
    }

    private static async Task<string> RequestAsync(OrreryTestServer server, List<string> ids, string[] command)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var admin = await db.Users.FirstAsync(u => u.Name == "admin");
        var id = ComputeService.NewId(ResourceKind.Process);
        ids.Add(id);
        var spec = new LaunchSpec(id, command, new Dictionary<string, string>()) { Image = PodmanCli.BaseImage };
        await scope.ServiceProvider.GetRequiredService<ComputeService>().RequestAsync(ResourceKind.Process, admin.Id, "test", spec, "podman", null, default);
        return id;
    }

    private static async Task<ComputeResource> FindAsync(OrreryTestServer server, string id)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<ComputeService>().FindAsync(id, default))!;
    }

    private static async Task<ComputeResource> WaitForStateAsync(OrreryTestServer server, string id, ResourceState state, int seconds)
    {
        ComputeResource? resource = null;
        await Eventually.TrueAsync(async () => (resource = await FindAsync(server, id)).State == state, seconds);
        return resource!;
    }
}
