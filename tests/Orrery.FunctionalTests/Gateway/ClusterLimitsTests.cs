using System.Net;
using System.Text.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>Per-user limits (protocol §3.3, §6.6): clamped scale and adapt with upstream's warnings, cluster count, the shared core budget.</summary>
public class ClusterLimitsTests
{
    [Fact]
    public async Task MaxWorkersPerCluster_ScaleAndAdaptAbove_ClampedWithWarning()
    {
        await using var server = await GatewayClient.StartServerAsync(new Dictionary<string, string?> { ["Orrery:Gateway:Limits:MaxWorkersPerCluster"] = "3" });
        var (_, token) = await server.CreateUserAsync("capped");
        using var gateway = new GatewayClient(server, token);
        var name = await gateway.CreateClusterAsync();
        try
        {
            await gateway.WaitRunningAsync(name);

            // Adapt first, while there is no work, so the clamps are checked without starting workers.
            (await OkMessageAsync(gateway, name, "adapt", """{"minimum": 0, "maximum": 8, "active": true}"""))
                .ShouldBe((false, "Adapt with `maximum=8, minimum=0` workers would exceed resource limit of 3 workers. Using `maximum=3, minimum=0` instead."));
            // Unset bounds are filled from the limit, which is no overshoot.
            (await OkMessageAsync(gateway, name, "adapt", """{"minimum": null, "maximum": null, "active": true}""")).ShouldBe((true, null));
            (await OkMessageAsync(gateway, name, "adapt", """{"minimum": 5, "maximum": 6, "active": true}"""))
                .ShouldBe((false, "Adapt with `maximum=6, minimum=5` workers would exceed resource limit of 3 workers. Using `maximum=3, minimum=3` instead."));
            (await OkMessageAsync(gateway, name, "adapt", """{"minimum": null, "maximum": null, "active": false}""")).ShouldBe((true, null));

            (await OkMessageAsync(gateway, name, "scale", """{"count": 7}"""))
                .ShouldBe((false, "Scale request of 7 workers would exceed resource limit of 3 workers. Scaling to 3 instead."));
            (await gateway.TargetWorkersAsync(name)).ShouldBe(3);
            (await OkMessageAsync(gateway, name, "scale", """{"count": 0}""")).ShouldBe((true, null));
            (await gateway.TargetWorkersAsync(name)).ShouldBe(0);
        }
        finally
        {
            await gateway.StopQuietlyAsync(name);
        }
        await gateway.WaitStoppedAsync(name);
    }

    [Fact]
    public async Task MaxClusters_SecondCreate_409UntilFirstStopped()
    {
        await using var server = await GatewayClient.StartServerAsync(new Dictionary<string, string?> { ["Orrery:Gateway:Limits:MaxClusters"] = "1" });
        var (user, token) = await server.CreateUserAsync("onlyone");
        var (_, otherToken) = await server.CreateUserAsync("another");
        using var gateway = new GatewayClient(server, token);
        using var otherGateway = new GatewayClient(server, otherToken);
        var names = new List<string>();
        try
        {
            names.Add(await gateway.CreateClusterAsync());
            var second = await gateway.PostJsonAsync("api/v1/clusters/", """{"cluster_options": {"worker_memory": 0.25}}""");
            (await GatewayClient.ErrorAsync(second, 409)).ShouldBe($"User {user} already has the maximum of 1 active clusters; stop one first");
            (await (await gateway.Http.GetAsync("api/v1/clusters/")).JsonAsync()).Keys().ShouldBe([names[0]]);

            // The limit is per user.
            var others = await otherGateway.CreateClusterAsync();
            await otherGateway.StopQuietlyAsync(others);

            // A stop that was asked for frees the slot at once.
            (await gateway.Http.DeleteAsync($"api/v1/clusters/{names[0]}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            names.Add(await gateway.CreateClusterAsync());
            await otherGateway.WaitStoppedAsync(others);
        }
        finally
        {
            await gateway.StopQuietlyAsync([.. names]);
        }
        foreach (var name in names)
            await gateway.WaitStoppedAsync(name);
    }

    [Fact]
    public async Task MaxCores_ConcurrentScalesOfTwoClusters_NeverOvershootTogether()
    {
        await using var server = await GatewayClient.StartServerAsync(new Dictionary<string, string?> { ["Orrery:Gateway:Limits:MaxCores"] = "4" });
        var (_, token) = await server.CreateUserAsync("budget");
        using var gateway = new GatewayClient(server, token);
        var names = new List<string>();
        try
        {
            names.Add(await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["worker_cores"] = 1 }));
            names.Add(await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["worker_cores"] = 1 }));
            foreach (var name in names)
                await gateway.WaitRunningAsync(name);

            var requests = Enumerable.Range(0, 10).SelectMany(_ => names)
                .Select(name => gateway.PostJsonAsync($"api/v1/clusters/{name}/scale", """{"count": 4}""")).ToList();
            var responses = await Task.WhenAll(requests);
            foreach (var response in responses)
            {
                var text = await response.Content.ReadAsStringAsync();
                response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
                var json = JsonDocument.Parse(text).RootElement;
                if (!json.GetProperty("ok").GetBoolean())
                    json.GetProperty("msg").GetString()!.ShouldMatch(@"^Scale request of 4 workers would exceed resource limit of [0-3] workers\. Scaling to [0-3] instead\.$");
            }

            var targets = new List<int>();
            foreach (var name in names)
                targets.Add(await gateway.TargetWorkersAsync(name));
            targets.Sum().ShouldBeLessThanOrEqualTo(4, $"targets {string.Join(", ", targets)}");
            targets.Sum().ShouldBeGreaterThan(0);
        }
        finally
        {
            await gateway.StopQuietlyAsync([.. names]);
        }
        foreach (var name in names)
            await gateway.WaitStoppedAsync(name);
    }

    /// <summary>A scale or adapt answer, <c>{"ok": bool, "msg": str|null}</c> (compared parsed: the server escapes the backticks as \u0060).</summary>
    private static async Task<(bool Ok, string? Msg)> OkMessageAsync(GatewayClient gateway, string name, string action, string body)
    {
        var response = await gateway.PostJsonAsync($"api/v1/clusters/{name}/{action}", body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = JsonDocument.Parse(text).RootElement;
        json.Keys().ShouldBe(["ok", "msg"]);
        return (json.GetProperty("ok").GetBoolean(), json.GetProperty("msg").GetString());
    }
}
