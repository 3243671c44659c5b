using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>
/// Workers that cannot start: the real `dask` runs the scheduler, but a wrapper in front of it makes every
/// `dask worker` exit at once — as a broken environment would.
/// </summary>
public class WorkerFailureTests
{
    [Fact]
    public async Task WorkersFailRepeatedly_ClusterFailedAfterLimit_FilesPrivateUntilRemoved()
    {
        var bin = Directory.CreateTempSubdirectory("orrery-dask-wrapper-").FullName;
        var wrapper = Path.Combine(bin, "dask");
        await File.WriteAllTextAsync(wrapper, "#!/bin/sh\nif [ \"$1\" = worker ]; then echo 'worker cannot start' >&2; exit 3; fi\nexec /usr/bin/dask \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Orrery:Gateway:DaskCommand"] = wrapper,
            ["Orrery:Gateway:WorkerStartFailureLimit"] = "3",
            ["Orrery:Gateway:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.300",
        });
        try
        {
            using var client = server.AdminClient();
            var created = await client.PostAsJsonAsync("services/dask-gateway/api/v1/clusters/", new { cluster_options = new { worker_memory = 0.25 } });
            var name = (await created.JsonAsync()).GetProperty("name").GetString()!;
            await Eventually.TrueAsync(async () => (await client.GetAsync($"services/dask-gateway/api/v1/clusters/{name}?wait")).IsSuccessStatusCode
                && (await (await client.GetAsync($"services/dask-gateway/api/v1/clusters/{name}")).JsonAsync()).GetProperty("status").GetString() == "RUNNING", seconds: 90);

            var workDir = Path.Combine(server.DataDir, "clusters", name);
            (File.GetUnixFileMode(workDir) & (UnixFileMode)0x1FF).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            (File.GetUnixFileMode(Path.Combine(workDir, ".certs", "dask.pem")) & (UnixFileMode)0x1FF).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);

            (await client.PostAsJsonAsync($"services/dask-gateway/api/v1/clusters/{name}/scale", new { count = 1 })).EnsureSuccessStatusCode();
            await Eventually.TrueAsync(async () =>
                (await (await client.GetAsync($"services/dask-gateway/api/v1/clusters/{name}")).JsonAsync()).GetProperty("status").GetString() == "FAILED", seconds: 90);

            await using var scope = server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
            var cluster = await db.Clusters.AsNoTracking().SingleAsync(c => c.Name == name);
            cluster.Reason.ShouldBe("3 workers in a row failed to start.");
            (await db.Resources.CountAsync(r => r.Parent == name && r.Kind == ResourceKind.Worker)).ShouldBe(3);
            (await db.Resources.AnyAsync(r => r.Parent == name && r.State != ResourceState.Stopped && r.State != ResourceState.Failed)).ShouldBeFalse();
            Directory.Exists(workDir).ShouldBeFalse();
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }
}
