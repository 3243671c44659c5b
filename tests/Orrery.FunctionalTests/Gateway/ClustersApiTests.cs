using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>A gateway whose members of group "gpu" may ask for up to 8 worker cores instead of 4.</summary>
public sealed class ClustersApiFixture : GatewayFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orrery:Gateway:GroupOverrides:gpu:worker_cores:Max"] = "8",
    };
}

/// <summary>The dask-gateway cluster routes (protocol §3) against real dask schedulers and workers.</summary>
public class ClustersApiTests(ClustersApiFixture fixture) : IClassFixture<ClustersApiFixture>
{
    private static readonly string[] ReportKeys = ["name", "dashboard_route", "status", "start_time", "stop_time", "options", "tls_cert", "tls_key"];

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Options_Default_ExactSpecKeysPerType()
    {
        var (_, gateway) = await fixture.UserAsync("opts");
        using var disposeGateway = gateway;
        var response = await gateway.Http.GetAsync("api/v1/options");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = await response.JsonAsync();
        json.Keys().ShouldBe(["cluster_options"]);
        var fields = json.GetProperty("cluster_options").EnumerateArray().ToList();
        fields.ShouldNotBeEmpty();
        foreach (var field in fields)
        {
            field.Keys().ShouldBe(["field", "label", "default", "spec"]);
            field.GetProperty("field").GetString().ShouldNotBeNullOrEmpty();
            field.GetProperty("label").ValueKind.ShouldBe(JsonValueKind.String);
            var spec = field.GetProperty("spec");
            var type = spec.GetProperty("type").GetString();
            var value = field.GetProperty("default");
            switch (type)
            {
                case "int" or "float":
                    spec.Keys().ShouldBe(["type", "min", "max"]);
                    value.ValueKind.ShouldBe(JsonValueKind.Number);
                    if (type == "int")
                        value.TryGetInt64(out var _).ShouldBeTrue($"{field} default must be an integer");
                    break;
                case "string":
                    spec.Keys().ShouldBe(["type"]);
                    value.ValueKind.ShouldBe(JsonValueKind.String);
                    break;
                case "bool":
                    spec.Keys().ShouldBe(["type"]);
                    value.ValueKind.ShouldBeOneOf(JsonValueKind.True, JsonValueKind.False);
                    break;
                case "mapping":
                    spec.Keys().ShouldBe(["type"]);
                    value.ValueKind.ShouldBe(JsonValueKind.Object);
                    break;
                case "select":
                    spec.Keys().ShouldBe(["type", "options"]);
                    spec.GetProperty("options").Strings().ShouldContain(value.GetString()!);
                    break;
                default:
                    throw new ShouldAssertException($"unknown field type in {field}");
            }
        }
        var cores = fields.Single(f => f.GetProperty("field").GetString() == "worker_cores");
        cores.GetRawText().ShouldBe("""{"field":"worker_cores","label":"Worker Cores","default":1,"spec":{"type":"int","min":1,"max":4}}""");
        fields.Single(f => f.GetProperty("field").GetString() == "worker_memory").GetProperty("spec").GetProperty("type").GetString().ShouldBe("float");
        fields.Single(f => f.GetProperty("field").GetString() == "environment").GetProperty("spec").GetProperty("type").GetString().ShouldBe("mapping");
    }

    [Fact]
    public async Task Options_GroupOverride_ChangesBoundForMembersOnly()
    {
        var (member, memberGateway) = await fixture.UserAsync("gpu");
        var (_, otherGateway) = await fixture.UserAsync("cpu");
        using var m = memberGateway;
        using var o = otherGateway;
        using var admin = Server.AdminClient();
        (await admin.PostAsJsonAsync("hub/api/groups/gpu", new { users = new[] { member } })).StatusCode.ShouldBe(HttpStatusCode.Created);

        (await MaxCoresAsync(memberGateway)).ShouldBe(8);
        (await MaxCoresAsync(otherGateway)).ShouldBe(4);
        // Validation follows the same per-user bounds (422s, so nothing starts).
        (await GatewayClient.ErrorAsync(await memberGateway.PostJsonAsync("api/v1/clusters/", """{"cluster_options": {"worker_cores": 9}}"""), 422))
            .ShouldBe("worker_cores must be <= 8.000000, got 9");
        (await GatewayClient.ErrorAsync(await otherGateway.PostJsonAsync("api/v1/clusters/", """{"cluster_options": {"worker_cores": 5}}"""), 422))
            .ShouldBe("worker_cores must be <= 4.000000, got 5");
    }

    [Theory]
    [InlineData("""{"cluster_options": {"nope": 1}}""", "Unknown fields ['nope']")]
    [InlineData("""{"cluster_options": {"worker_cores": "x"}}""", "worker_cores must be an integer, got 'x'")]
    [InlineData("""{"cluster_options": {"worker_cores": 1.5}}""", "worker_cores must be an integer, got 1.5")]
    [InlineData("""{"cluster_options": {"worker_cores": 7}}""", "worker_cores must be <= 4.000000, got 7")]
    [InlineData("""{"cluster_options": {"worker_cores": 0}}""", "worker_cores must be >= 1.000000, got 0")]
    [InlineData("""{"cluster_options": {"worker_memory": "lots"}}""", "worker_memory must be a number, got 'lots'")]
    [InlineData("""{"cluster_options": {"image": 5}}""", "image must be a string, got 5")]
    [InlineData("""{"cluster_options": {"environment": {"A": 1}}}""", "environment values must be strings")]
    [InlineData("""{"cluster_options": {"environment": "A=1"}}""", "environment must be a mapping, got 'A=1'")]
    [InlineData("""{"cluster_options": 5}""", "cluster_options must be an object")]
    [InlineData("""[1, 2]""", "Request body must be a JSON object")]
    [InlineData("""{nope""", "Request body must be valid JSON")]
    [InlineData("", "Request body must be valid JSON")]
    public async Task Create_InvalidRequest_422NothingCreated(string body, string message)
    {
        var (_, gateway) = await fixture.UserAsync("invalid");
        using var disposeGateway = gateway;
        (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync("api/v1/clusters/", body), 422)).ShouldBe(message);
        (await (await gateway.Http.GetAsync("api/v1/clusters/?status=pending,running,stopping,stopped,failed")).Content.ReadAsStringAsync()).ShouldBe("{}");
    }

    [Fact]
    public async Task UnknownCluster_Get404_Delete204_Scale404()
    {
        var (_, gateway) = await fixture.UserAsync("unknown");
        using var disposeGateway = gateway;
        (await GatewayClient.ErrorAsync(await gateway.Http.GetAsync("api/v1/clusters/doesnotexist"), 404)).ShouldBe("Cluster doesnotexist not found");
        (await GatewayClient.ErrorAsync(await gateway.Http.GetAsync("api/v1/clusters/doesnotexist?wait"), 404)).ShouldBe("Cluster doesnotexist not found");
        var deleted = await gateway.Http.DeleteAsync("api/v1/clusters/doesnotexist");
        deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await deleted.Content.ReadAsStringAsync()).ShouldBeEmpty();
        (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync("api/v1/clusters/doesnotexist/scale", """{"count": 1}"""), 404)).ShouldBe("Cluster doesnotexist not found");
        (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync("api/v1/clusters/doesnotexist/adapt", """{"minimum": null, "maximum": null, "active": true}"""), 404))
            .ShouldBe("Cluster doesnotexist not found");
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("running,bogus")]
    [InlineData("2")]
    public async Task List_UnknownStatus_422(string status)
    {
        var (_, gateway) = await fixture.UserAsync("badstatus");
        using var disposeGateway = gateway;
        var message = await GatewayClient.ErrorAsync(await gateway.Http.GetAsync($"api/v1/clusters/?status={status}"), 422);
        message.ShouldEndWith("is not a valid ClusterStatus");
        message.ShouldContain(status.Split(',').Last(), Case.Insensitive);
    }

    [Fact]
    public async Task List_UnknownStatus_MessageKeepsGivenSpelling()
    {
        var (_, gateway) = await fixture.UserAsync("spelling");
        using var disposeGateway = gateway;
        (await GatewayClient.ErrorAsync(await gateway.Http.GetAsync("api/v1/clusters/?status=bogus"), 422)).ShouldBe("'bogus' is not a valid ClusterStatus");
    }

    [Fact]
    public async Task List_NoClusters_EmptyObject()
    {
        var (_, gateway) = await fixture.UserAsync("empty");
        using var disposeGateway = gateway;
        var response = await gateway.Http.GetAsync("api/v1/clusters/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        (await response.Content.ReadAsStringAsync()).ShouldBe("{}");
    }

    [Fact]
    public async Task OtherUsersCluster_GetDeleteScaleAdapt_403AndUntouched()
    {
        var (owner, ownerGateway) = await fixture.UserAsync("owner");
        var (intruder, intruderGateway) = await fixture.UserAsync("intruder");
        using var o = ownerGateway;
        using var i = intruderGateway;
        var name = await ownerGateway.CreateClusterAsync();
        try
        {
            (await GatewayClient.ErrorAsync(await intruderGateway.Http.GetAsync($"api/v1/clusters/{name}"), 403))
                .ShouldBe($"User {intruder} lacks permissions to view cluster {name}");
            (await GatewayClient.ErrorAsync(await intruderGateway.Http.DeleteAsync($"api/v1/clusters/{name}"), 403))
                .ShouldBe($"User {intruder} lacks permissions to stop cluster {name}");
            (await GatewayClient.ErrorAsync(await intruderGateway.PostJsonAsync($"api/v1/clusters/{name}/scale", """{"count": 1}"""), 403)).ShouldContain("lacks permissions");
            (await GatewayClient.ErrorAsync(await intruderGateway.PostJsonAsync($"api/v1/clusters/{name}/adapt", """{"active": false}"""), 403)).ShouldContain("lacks permissions");
            (await (await intruderGateway.Http.GetAsync("api/v1/clusters/")).Content.ReadAsStringAsync()).ShouldBe("{}");

            var report = await ownerGateway.ReportAsync(name);
            report.GetProperty("status").GetString().ShouldBeOneOf("PENDING", "RUNNING");
            owner.ShouldNotBe(intruder);
        }
        finally
        {
            await ownerGateway.StopQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Lifecycle_CreateWaitListScaleAdaptDelete_ReportsAndProcessesFollow()
    {
        var (_, gateway) = await fixture.UserAsync("life");
        using var disposeGateway = gateway;
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var created = await gateway.PostJsonAsync("api/v1/clusters/", """{"cluster_options": {"worker_memory": 0.25, "environment": {"FOO": "bar"}}}""");
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        created.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var createdJson = await created.JsonAsync();
        createdJson.Keys().ShouldBe(["name"]);
        var name = createdJson.GetProperty("name").GetString()!;
        name.ShouldMatch("^[0-9a-f]{32}$");
        try
        {
            // Running: the full report, certificates included.
            var report = await gateway.WaitRunningAsync(name);
            report.Keys().ShouldBe(ReportKeys);
            report.GetProperty("name").GetString().ShouldBe(name);
            report.GetProperty("status").ValueKind.ShouldBe(JsonValueKind.String);
            report.GetProperty("status").GetString().ShouldBe("RUNNING");
            var startTime = report.GetProperty("start_time").GetInt64();
            startTime.ShouldBeInRange(before - 5_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 5_000);
            report.GetProperty("stop_time").ValueKind.ShouldBe(JsonValueKind.Null);
            report.GetProperty("dashboard_route").GetString().ShouldBe($"/clusters/{name}/status");
            report.GetProperty("tls_cert").GetString()!.ShouldStartWith("-----BEGIN CERTIFICATE-----");
            report.GetProperty("tls_key").GetString()!.ShouldStartWith("-----BEGIN PRIVATE KEY-----");
            report.GetProperty("options").GetRawText()
                .ShouldBe("""{"worker_cores":1,"worker_threads":1,"worker_memory":0.25,"image":"","environment":{"FOO":"bar"},"idle_timeout":1800}""");

            // Listed, keyed by name, with the same report; status filters are case-insensitive.
            foreach (var query in new[] { "", "?status=RUNNING", "?status=running,pending", "?status=Pending,RUNNING" })
            {
                var list = await (await gateway.Http.GetAsync($"api/v1/clusters/{query}")).JsonAsync();
                list.Keys().ShouldBe([name], query);
                list.GetProperty(name).Keys().ShouldBe(ReportKeys);
                list.GetProperty(name).GetProperty("tls_cert").GetString().ShouldBe(report.GetProperty("tls_cert").GetString());
            }
            (await (await gateway.Http.GetAsync("api/v1/clusters/?status=STOPPED")).Content.ReadAsStringAsync()).ShouldBe("{}");
            // Without the trailing slash: the reference server 404s, this one routes it to the list (both allowed by §3.1).
            (await (await gateway.Http.GetAsync("api/v1/clusters")).JsonAsync()).Keys().ShouldBe([name]);

            // Scale: bad counts are 422, a good one is acted on.
            foreach (var bad in new[] { """{"count": -1}""", """{"count": "x"}""", """{"count": 1.5}""", """{"count": null}""", "{}" })
                (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync($"api/v1/clusters/{name}/scale", bad), 422)).ShouldBe("count must be a non-negative integer", bad);
            var scaled = await gateway.PostJsonAsync($"api/v1/clusters/{name}/scale", """{"count": 2}""");
            scaled.StatusCode.ShouldBe(HttpStatusCode.OK);
            scaled.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
            (await scaled.Content.ReadAsStringAsync()).ShouldBe("""{"ok":true,"msg":null}""");
            (await gateway.TargetWorkersAsync(name)).ShouldBe(2);
            await Eventually.TrueAsync(async () => await gateway.WorkersInStateAsync(name, ResourceState.Running) == 2, seconds: 60);

            var adapted = await gateway.PostJsonAsync($"api/v1/clusters/{name}/adapt", """{"minimum": null, "maximum": null, "active": false}""");
            adapted.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await adapted.Content.ReadAsStringAsync()).ShouldBe("""{"ok":true,"msg":null}""");
            (await gateway.TargetWorkersAsync(name)).ShouldBe(2);

            // Stop: 204 at once, then STOPPING/STOPPED without certificates or dashboard.
            var deleted = await gateway.Http.DeleteAsync($"api/v1/clusters/{name}");
            deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
            (await deleted.Content.ReadAsStringAsync()).ShouldBeEmpty();
            var stopping = await gateway.ReportAsync(name);
            stopping.GetProperty("status").GetString().ShouldBeOneOf("STOPPING", "STOPPED");
            stopping.GetProperty("tls_cert").ValueKind.ShouldBe(JsonValueKind.Null);
            stopping.GetProperty("dashboard_route").ValueKind.ShouldBe(JsonValueKind.Null);
            (await gateway.Http.DeleteAsync($"api/v1/clusters/{name}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

            var stopped = await gateway.WaitStoppedAsync(name);
            stopped.Keys().ShouldBe(ReportKeys);
            stopped.GetProperty("start_time").GetInt64().ShouldBe(startTime);
            stopped.GetProperty("stop_time").GetInt64().ShouldBeGreaterThanOrEqualTo(startTime);
            stopped.GetProperty("tls_cert").ValueKind.ShouldBe(JsonValueKind.Null);
            stopped.GetProperty("tls_key").ValueKind.ShouldBe(JsonValueKind.Null);
            stopped.GetProperty("dashboard_route").ValueKind.ShouldBe(JsonValueKind.Null);
            stopped.GetProperty("options").GetRawText().ShouldBe(report.GetProperty("options").GetRawText());
            (await gateway.LiveResourcesAsync(name)).ShouldBe(0);

            (await (await gateway.Http.GetAsync("api/v1/clusters/")).Content.ReadAsStringAsync()).ShouldBe("{}");
            (await (await gateway.Http.GetAsync("api/v1/clusters/?status=stopped")).JsonAsync()).Keys().ShouldBe([name]);
            (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync($"api/v1/clusters/{name}/scale", """{"count": 1}"""), 409)).ShouldBe($"cluster {name} is not running");
            (await GatewayClient.ErrorAsync(await gateway.PostJsonAsync($"api/v1/clusters/{name}/adapt", """{"active": true}"""), 409)).ShouldBe($"cluster {name} is not running");
        }
        finally
        {
            await gateway.StopQuietlyAsync(name);
        }
        await Eventually.TrueAsync(async () => await gateway.LiveResourcesAsync(name) == 0, seconds: 60);
        (await gateway.LiveResourcesAsync(name, ResourceKind.Worker)).ShouldBe(0);
    }

    private static async Task<int> MaxCoresAsync(GatewayClient gateway)
    {
        var json = await (await gateway.Http.GetAsync("api/v1/options")).JsonAsync();
        return json.GetProperty("cluster_options").EnumerateArray()
            .Single(f => f.GetProperty("field").GetString() == "worker_cores").GetProperty("spec").GetProperty("max").GetInt32();
    }
}
