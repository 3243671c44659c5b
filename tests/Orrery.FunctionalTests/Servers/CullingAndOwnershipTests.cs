using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Gateway;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage.Entities;
using Shouldly;
using Xunit;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// Idle and max-age culling, and clusters created with a server's token ending with the server. The servers are
/// real processes (python's http.server, which answers under the prefix with a 404 — ready by JupyterHub's rule).
/// </summary>
public sealed class CullingAndOwnershipTests
{
    /// <summary>The shared cheap profiles (tiny is the default), culling every 200 ms, and the gateway's fast loops.</summary>
    private static Dictionary<string, string?> TinyProfile(string idle = "00:00:00", string maxAge = "00:00:00")
    {
        var changes = new Dictionary<string, string?>(GatewayClient.FastSettings)
        {
            ["Orrery:Servers:Profiles:0:IdleTimeout"] = idle,
            ["Orrery:Servers:Profiles:0:MaxAge"] = maxAge,
            ["Orrery:Servers:CullInterval"] = "00:00:00.200",
        };
        return ServerProfiles.Settings(changes);
    }

    [Fact]
    public async Task IdleServer_IsStoppedWithTheReasonKept()
    {
        await using var server = await OrreryTestServer.StartAsync(TinyProfile(idle: "00:00:01"));
        var (name, token) = await server.CreateUserAsync("idle");
        using var client = server.Client(token);
        (await client.PostAsync($"hub/api/users/{name}/server", null)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var row = await WaitForStateAsync(server, name, ResourceState.Stopped);
        row.Reason.ShouldNotBeNull().ShouldStartWith("culled: idle for");
    }

    [Fact]
    public async Task ActivityReports_KeepAServerAlive_UntilTheyStop()
    {
        await using var server = await OrreryTestServer.StartAsync(TinyProfile(idle: "00:00:02"));
        var (name, token) = await server.CreateUserAsync("busy");
        using var client = server.Client(token);
        (await client.PostAsync($"hub/api/users/{name}/server", null)).StatusCode.ShouldBe(HttpStatusCode.Created);

        for (var i = 0; i < 8; i++)   // 4 s of reports, twice the idle limit
        {
            var report = new { servers = new Dictionary<string, object> { [""] = new { last_activity = DateTime.UtcNow.ToString("O") } } };
            (await client.PostAsJsonAsync($"hub/api/users/{name}/activity", report)).StatusCode.ShouldBe(HttpStatusCode.OK);
            await Task.Delay(500);
        }
        (await ServerRowAsync(server, name)).State.ShouldBe(ResourceState.Running);

        var row = await WaitForStateAsync(server, name, ResourceState.Stopped);
        row.Reason.ShouldNotBeNull().ShouldStartWith("culled: idle for");
    }

    [Fact]
    public async Task ServerOlderThanMaxAge_IsStopped()
    {
        await using var server = await OrreryTestServer.StartAsync(TinyProfile(maxAge: "00:00:02"));
        var (name, token) = await server.CreateUserAsync("old");
        using var client = server.Client(token);
        (await client.PostAsync($"hub/api/users/{name}/server", null)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var row = await WaitForStateAsync(server, name, ResourceState.Stopped);
        row.Reason.ShouldNotBeNull().ShouldContain("maximum age");
    }

    [Fact]
    public async Task ClustersFromAServerToken_StopWithTheServer_UnlessKeptRunning()
    {
        await using var server = await OrreryTestServer.StartAsync(TinyProfile());
        var (name, token) = await server.CreateUserAsync("owner");
        using var client = server.Client(token);
        (await client.PostAsync($"hub/api/users/{name}/server", null)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var serverToken = ServerEnvironment(server, name)["JUPYTERHUB_API_TOKEN"];

        using var fromServer = new GatewayClient(server, serverToken);
        var ending = await fromServer.CreateClusterAsync();
        var kept = await fromServer.CreateClusterAsync();
        using var fromUser = new GatewayClient(server, token);
        var independent = await fromUser.CreateClusterAsync();
        try
        {
            await fromServer.WaitRunningAsync(ending);
            await fromServer.WaitRunningAsync(kept);
            await fromUser.WaitRunningAsync(independent);
            await using (var scope = server.Services.CreateAsyncScopeHelper())
                await scope.Db().Clusters.Where(c => c.Name == kept).ExecuteUpdateAsync(s => s.SetProperty(c => c.KeepRunning, true));

            (await client.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

            var stopped = await fromUser.WaitStoppedAsync(ending);
            stopped.GetProperty("status").GetString().ShouldBe("STOPPED");
            (await fromUser.ReportAsync(kept)).GetProperty("status").GetString().ShouldBe("RUNNING");
            (await fromUser.ReportAsync(independent)).GetProperty("status").GetString().ShouldBe("RUNNING");
            await using var check = server.Services.CreateAsyncScopeHelper();
            (await check.Db().Clusters.SingleAsync(c => c.Name == ending)).Reason.ShouldNotBeNull().ShouldContain($"its server {name} stopped");
        }
        finally
        {
            await fromUser.StopQuietlyAsync(ending, kept, independent);
        }
    }

    private static Dictionary<string, string> ServerEnvironment(OrreryTestServer server, string user) =>
        File.ReadAllLines(Path.Combine(server.DataDir, "homes", user, "env-.txt"))
            .Select(line => line.Split('=', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    private static async Task<UserServer> ServerRowAsync(OrreryTestServer server, string user)
    {
        await using var scope = server.Services.CreateAsyncScopeHelper();
        return await scope.Db().Servers.AsNoTracking().SingleAsync(s => s.User!.Name == user && s.Name == "");
    }

    private static async Task<UserServer> WaitForStateAsync(OrreryTestServer server, string user, ResourceState state)
    {
        UserServer? row = null;
        await Eventually.TrueAsync(async () => (row = await ServerRowAsync(server, user)).State == state, seconds: 30);
        return row!;
    }
}
