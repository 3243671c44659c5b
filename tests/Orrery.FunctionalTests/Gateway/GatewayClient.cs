using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>
/// The dask-gateway API of a test server as the Python client uses it: <c>services/dask-gateway/</c>, with
/// <c>Authorization: jupyterhub &lt;token&gt;</c>. Clusters are small (0.25 GiB workers) so two cores cope.
/// </summary>
public sealed class GatewayClient : IDisposable
{
    public const string Prefix = "services/dask-gateway/";

    /// <summary>Fast reconcile loops so clusters start and stop within seconds.</summary>
    public static readonly IReadOnlyDictionary<string, string?> FastSettings = new Dictionary<string, string?>
    {
        ["Orrery:Gateway:ReconcileInterval"] = "00:00:00.300",
        ["Orrery:Compute:ReconcileInterval"] = "00:00:00.300",
        ["Orrery:Compute:StopGrace"] = "00:00:03",
    };

    private readonly OrreryTestServer _server;

    public GatewayClient(OrreryTestServer server, string? token)
    {
        _server = server;
        Http = Anonymous(server);
        if (token is not null)
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("jupyterhub", token);
    }

    public HttpClient Http { get; }

    /// <summary>A client on the gateway prefix that sends no credentials and keeps no cookies.</summary>
    public static HttpClient Anonymous(OrreryTestServer server) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(server.BaseAddress, Prefix) };

    public static Task<OrreryTestServer> StartServerAsync(IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(FastSettings);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
            settings[key] = value;
        return OrreryTestServer.StartAsync(settings);
    }

    /// <summary>Asserts a dask-gateway error (<c>{"error": "…"}</c>, application/json, <paramref name="status"/>) and returns the message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = JsonDocument.Parse(text).RootElement;
        json.Keys().ShouldBe(["error"]);
        return json.GetProperty("error").GetString()!;
    }

    public static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) => Http.PostAsync(path, JsonBody(json));

    /// <summary>Creates a cluster with small workers (plus <paramref name="options"/>) and returns its name.</summary>
    public async Task<string> CreateClusterAsync(IReadOnlyDictionary<string, object?>? options = null)
    {
        var clusterOptions = new Dictionary<string, object?> { ["worker_memory"] = 0.25 };
        foreach (var (key, value) in options ?? new Dictionary<string, object?>())
            clusterOptions[key] = value;
        var response = await Http.PostAsJsonAsync("api/v1/clusters/", new { cluster_options = clusterOptions });
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("name").GetString()!;
    }

    public async Task<JsonElement> ReportAsync(string name)
    {
        var response = await Http.GetAsync($"api/v1/clusters/{name}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    /// <summary>The client's wait loop: <c>GET …?wait</c> while PENDING; fails unless the cluster ends up RUNNING.</summary>
    public async Task<JsonElement> WaitRunningAsync(string name, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var response = await Http.GetAsync($"api/v1/clusters/{name}?wait");
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            var report = await response.JsonAsync();
            var status = report.GetProperty("status").GetString();
            if (status == "RUNNING")
                return report;
            status.ShouldBe("PENDING", $"cluster {name} did not start: {report}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Cluster {name} not RUNNING within {seconds} s.");
            await Task.Delay(500);
        }
    }

    /// <summary>Polls until the report says STOPPED and returns it.</summary>
    public async Task<JsonElement> WaitStoppedAsync(string name, int seconds = 60)
    {
        JsonElement report = default;
        await Eventually.TrueAsync(async () =>
        {
            report = await ReportAsync(name);
            return report.GetProperty("status").GetString() == "STOPPED";
        }, seconds);
        return report;
    }

    /// <summary>DELETE, as <c>cluster.shutdown()</c>; never throws, for use in finally blocks.</summary>
    public async Task StopQuietlyAsync(params string[] names)
    {
        foreach (var name in names)
        {
            try
            {
                await Http.DeleteAsync($"api/v1/clusters/{name}");
            }
            catch (HttpRequestException)
            {
                // The server is going away; its dispose stops leftover processes.
            }
        }
    }

    /// <summary>The cluster's scheduler and worker resources that have not ended, from the database.</summary>
    public async Task<int> LiveResourcesAsync(string name, ResourceKind? kind = null)
    {
        await using var scope = _server.Services.CreateAsyncScopeHelper();
        var resources = scope.Db().Resources.Where(r => r.Parent == name && r.State != ResourceState.Stopped && r.State != ResourceState.Failed);
        if (kind is { } k)
            resources = resources.Where(r => r.Kind == k);
        return await resources.CountAsync();
    }

    /// <summary>The cluster's worker resources in <paramref name="state"/>.</summary>
    public async Task<int> WorkersInStateAsync(string name, ResourceState state)
    {
        await using var scope = _server.Services.CreateAsyncScopeHelper();
        return await scope.Db().Resources.CountAsync(r => r.Parent == name && r.Kind == ResourceKind.Worker && r.State == state);
    }

    public async Task<int> TargetWorkersAsync(string name)
    {
        await using var scope = _server.Services.CreateAsyncScopeHelper();
        return await scope.Db().Clusters.Where(c => c.Name == name).Select(c => c.TargetWorkers).SingleAsync();
    }

    public void Dispose() => Http.Dispose();
}

/// <summary>One server per test class with fast gateway and compute loops; tests create their own users.</summary>
public class GatewayFixture : IAsyncLifetime
{
    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync() => _server = await GatewayClient.StartServerAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }

    /// <summary>A new user and a gateway client authenticated as them.</summary>
    public async Task<(string Name, GatewayClient Client)> UserAsync(string prefix)
    {
        var (name, token) = await Server.CreateUserAsync(prefix);
        return (name, new GatewayClient(Server, token));
    }
}
