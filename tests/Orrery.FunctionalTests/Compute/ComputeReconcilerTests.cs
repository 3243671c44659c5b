using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.FunctionalTests.Compute;

/// <summary>The lifecycle end to end: real child processes, the real reconciler, and real server restarts.</summary>
public class ComputeReconcilerTests
{
    private static readonly Dictionary<string, string?> FastReconcile = new() { ["Orrery:Compute:ReconcileInterval"] = "00:00:00.200", ["Orrery:Compute:StopGrace"] = "00:00:02" };

    [Fact]
    public async Task Resource_RunsThenStopsOnRequest_ExitStatusAndLogKept()
    {
        await using var server = await OrreryTestServer.StartAsync(FastReconcile);
        var id = await RequestAsync(server, ["/bin/sh", "-c", "echo started; exec sleep 300"]);
        await WaitForStateAsync(server, id, ResourceState.Running);

        await using (var scope = server.Services.CreateAsyncScope())
            (await scope.ServiceProvider.GetRequiredService<ComputeService>().RequestStopAsync(id, default)).ShouldBeTrue();
        var stopped = await WaitForStateAsync(server, id, ResourceState.Stopped);
        stopped.ExitCode.ShouldBe(143);
        (await ReadLogAsync(server, stopped)).ShouldContain("started");
    }

    [Fact]
    public async Task Resource_FailingCommand_FailedWithExitStatus()
    {
        await using var server = await OrreryTestServer.StartAsync(FastReconcile);
        var id = await RequestAsync(server, ["/bin/sh", "-c", "echo oops >&2; exit 3"]);
        var failed = await WaitForStateAsync(server, id, ResourceState.Failed);
        failed.ExitCode.ShouldBe(3);
        failed.Reason.ShouldBe("Exited with status 3.");
        (await ReadLogAsync(server, failed)).ShouldContain("oops");
    }

    [Fact]
    public async Task Resource_RejectedByBackend_FailedWithReason()
    {
        await using var server = await OrreryTestServer.StartAsync(FastReconcile);
        var id = await RequestAsync(server, ["/bin/true"], workingDirectory: "/no/such/dir");
        var failed = await WaitForStateAsync(server, id, ResourceState.Failed);
        failed.Reason!.ShouldContain("/no/such/dir");
    }

    [Fact]
    public async Task ServerRestart_RunningResourceReattached_ExitWhileDownRecorded()
    {
        var server = await OrreryTestServer.StartAsync(FastReconcile);
        try
        {
            var longRunning = await RequestAsync(server, ["/bin/sh", "-c", "exec sleep 300"]);
            var marker = Path.Combine(server.DataDir, "release-" + Guid.NewGuid().ToString("N"));
            // Runs until the test creates the marker file while Orrery is down, then exits with status 7.
            var exitsWhileDown = await RequestAsync(server, ["/bin/sh", "-c", $"while [ ! -e {marker} ]; do sleep 0.1; done; exit 7"]);
            await WaitForStateAsync(server, longRunning, ResourceState.Running);
            await WaitForStateAsync(server, exitsWhileDown, ResourceState.Running);

            await server.DisposeWithoutCleanupAsync();
            await File.WriteAllTextAsync(marker, "");
            await Task.Delay(500); // let the released process finish while no Orrery runs
            server = await server.RestartAsync();

            var failed = await WaitForStateAsync(server, exitsWhileDown, ResourceState.Failed);
            failed.ExitCode.ShouldBe(7);
            (await FindAsync(server, longRunning)).State.ShouldBe(ResourceState.Running);
            await using (var scope = server.Services.CreateAsyncScope())
                await scope.ServiceProvider.GetRequiredService<ComputeService>().RequestStopAsync(longRunning, default);
            (await WaitForStateAsync(server, longRunning, ResourceState.Stopped)).ExitCode.ShouldBe(143);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<string> RequestAsync(OrreryTestServer server, string[] command, string? workingDirectory = null)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var admin = await db.Users.FirstAsync(u => u.Name == "admin");
        var id = ComputeService.NewId(ResourceKind.Process);
        var spec = new LaunchSpec(id, command, new Dictionary<string, string>(), workingDirectory);
        await scope.ServiceProvider.GetRequiredService<ComputeService>().RequestAsync(ResourceKind.Process, admin.Id, "test", spec, "local", null, default);
        return id;
    }

    private static async Task<ComputeResource> FindAsync(OrreryTestServer server, string id)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<ComputeService>().FindAsync(id, default))!;
    }

    private static async Task<ComputeResource> WaitForStateAsync(OrreryTestServer server, string id, ResourceState state)
    {
        ComputeResource? resource = null;
        await Eventually.TrueAsync(async () => (resource = await FindAsync(server, id)).State == state);
        return resource!;
    }

    private static async Task<string> ReadLogAsync(OrreryTestServer server, ComputeResource resource)
    {
        var backend = server.Service<ComputeBackends>().Find(resource.Backend)!;
        await using var log = await backend.OpenLogAsync(new BackendHandle(resource.Backend, resource.Handle!), default);
        return await new StreamReader(log!).ReadToEndAsync();
    }
}
