using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orrery.FunctionalTests.Gateway;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.FunctionalTests.Jobs;
using Orrery.FunctionalTests.Servers;

namespace Orrery.FunctionalTests.Environments;

/// <summary>
/// One Orrery and one environment built from <see cref="EnvironmentsClient.Library"/> on <see cref="Base"/>: the host's
/// Python (a virtual environment) or a container image (Podman). <see cref="Available"/> false = nothing is started.
/// </summary>
public abstract class EnvironmentUseFixture : IAsyncLifetime
{
    public const string LibraryProfile = "withlib";

    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    public string EnvironmentId { get; private set; } = "";

    public string User { get; private set; } = "";

    public string Token { get; private set; } = "";

    public const string Password = "environments-test-password";

    protected abstract string Base { get; }

    /// <summary>Where processes in the environment must have run: "local" (virtual environment) or "podman" (image).</summary>
    public abstract string ExpectedBackend { get; }

    /// <summary>Asserts that the newest resource of <paramref name="kind"/> of the test user ran on <see cref="ExpectedBackend"/>.</summary>
    public async Task ShouldHaveRunOnExpectedBackendAsync(Core.Compute.ResourceKind kind)
    {
        await using var scope = Server.Services.CreateAsyncScopeHelper();
        var owner = await scope.Db().Users.Where(u => u.Name == User).Select(u => u.Id).SingleAsync();
        var backend = await scope.Db().Resources.Where(r => r.OwnerId == owner && r.Kind == kind)
            .OrderByDescending(r => r.Created).Select(r => r.Backend).FirstAsync();
        backend.ShouldBe(ExpectedBackend, kind.ToString());
    }

    protected virtual bool Available => true;

    protected virtual IReadOnlyDictionary<string, string?> Extra => new Dictionary<string, string?>();

    /// <summary>Imports the library, writes what it answers and the environment's variable to $HOME/lib-&lt;server&gt;.txt, then serves.</summary>
    private const string LibraryServer =
        "env > \"$HOME/env-$JUPYTERHUB_SERVER_NAME.txt\"; "
        + "python3 -c 'import orrery_testlib, os; print(orrery_testlib.answer(), os.environ.get(\"ORRERY_TEST_VARIABLE\"))' > \"$HOME/lib-$JUPYTERHUB_SERVER_NAME.txt\" 2>&1; "
        + "p=${JUPYTERHUB_SERVICE_URL#http://127.0.0.1:}; exec python3 -m http.server --bind 127.0.0.1 ${p%%/*}";

    public async Task InitializeAsync()
    {
        if (!Available)
            return;
        var settings = new Dictionary<string, string?>(GatewayClient.FastSettings)
        {
            ["Orrery:Jobs:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Servers:Profiles:4:Slug"] = LibraryProfile,
            ["Orrery:Servers:Profiles:4:DisplayName"] = "With the library",
            ["Orrery:Servers:Profiles:4:Command:0"] = "/bin/sh",
            ["Orrery:Servers:Profiles:4:Command:1"] = "-c",
            ["Orrery:Servers:Profiles:4:Command:2"] = LibraryServer,
        };
        foreach (var (key, value) in Extra)
            settings[key] = value;
        _server = await OrreryTestServer.StartAsync(ServerProfiles.Settings(settings));
        (User, Token) = await Server.CreateUserAsync("env-use", password: Password);
        using var environments = new EnvironmentsClient(Server.Client(Token));
        EnvironmentId = await environments.BuildReadyAsync(EnvironmentsClient.Spec("teamlib", Base), EnvironmentsClient.Library(42), seconds: 600);
    }

    public async Task DisposeAsync()
    {
        if (_server is null)
            return;
        await using (var scope = Server.Services.CreateAsyncScopeHelper())
            _resources = await scope.Db().Resources.Select(r => r.Id).ToListAsync();
        await _server.DisposeAsync();
        await CleanUpAsync(_resources);
    }

    private List<string> _resources = [];

    /// <summary>After the server stopped: remove what its resources left outside the data directory (containers).</summary>
    protected virtual Task CleanUpAsync(IReadOnlyList<string> resourceIds) => Task.CompletedTask;
}

/// <summary>The checks every way of realising an environment must pass: a job, a Dask cluster's workers and a server import the library.</summary>
public static class EnvironmentUse
{
    /// <summary>A batch job with the environment as its image imports the library.</summary>
    public static async Task JobImportsLibraryAsync(EnvironmentUseFixture f)
    {
        using var kbatch = new Kbatch(f.Server.Client(f.Token));
        var body = KbatchBodies.Job("uses-env", ["python3", "-c", "import orrery_testlib, os; print('answer', orrery_testlib.answer(), os.environ['ORRERY_ENVIRONMENT'])"],
            image: "teamlib");
        var job = await kbatch.SubmitAsync(body);
        var name = Kbatch.Name(job);
        var finished = await kbatch.WaitFinishedAsync(name, seconds: 120);
        var log = await kbatch.LogsAsync($"jobs/logs/{name}/");
        Kbatch.Count(finished, "succeeded").ShouldBe(1, log);
        log.ShouldContain("answer 42 teamlib");
        await f.ShouldHaveRunOnExpectedBackendAsync(Core.Compute.ResourceKind.Job);
    }

    private const string ClusterProgram =
        """
        import json, sys
        from orrery_gateway import Gateway

        address, token, name = sys.argv[1:4]
        client = Gateway(address, token).connect(name, timeout=60)

        def use_library():
            import orrery_testlib, os, sys
            return [orrery_testlib.answer(), os.environ.get("ORRERY_ENVIRONMENT_ID"), sys.executable]

        print(json.dumps(client.submit(use_library, pure=False).result(timeout=120)))
        client.close()
        """;

    /// <summary>A cluster created with the environment as its image option runs a task that imports the library on a worker.</summary>
    public static async Task ClusterWorkersImportLibraryAsync(EnvironmentUseFixture f)
    {
        using var gateway = new GatewayClient(f.Server, f.Token);
        var cluster = await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["image"] = "teamlib" });
        try
        {
            await gateway.WaitRunningAsync(cluster, seconds: 120);
            (await gateway.PostJsonAsync($"api/v1/clusters/{cluster}/scale", """{"count": 1}""")).EnsureSuccessStatusCode();
            var result = await PythonProgram.RunAsync(ClusterProgram, "cluster in environment",
                [new Uri(f.Server.BaseAddress, "services/dask-gateway").ToString(), f.Token, cluster]);
            result[0].GetInt32().ShouldBe(42);
            result[1].GetString().ShouldBe(f.EnvironmentId);
            await f.ShouldHaveRunOnExpectedBackendAsync(Core.Compute.ResourceKind.Worker);
            await f.ShouldHaveRunOnExpectedBackendAsync(Core.Compute.ResourceKind.Scheduler);
        }
        finally
        {
            await gateway.StopQuietlyAsync(cluster);
        }
    }

    /// <summary>
    /// A server started in the environment imports the library, gets the environment's variables, and hands its
    /// environment to the clusters it creates (DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE).
    /// </summary>
    public static Task ServerImportsLibraryAsync(EnvironmentUseFixture f) =>
        ServerImportsLibraryAsync(f, "lib", new { profile = EnvironmentUseFixture.LibraryProfile, environment = "teamlib" });

    public static async Task ServerImportsLibraryAsync(EnvironmentUseFixture f, string serverName, object userOptions)
    {
        using var hub = f.Server.Client(f.Token);
        var start = await hub.PostAsJsonAsync($"hub/api/users/{f.User}/servers/{serverName}", userOptions);
        ((int)start.StatusCode).ShouldBeOneOf([201, 202], await start.Content.ReadAsStringAsync());
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                var user = await hub.GetFromJsonAsync<JsonElement>($"hub/api/users/{f.User}");
                return user.GetProperty("servers").TryGetProperty(serverName, out var server) && server.GetProperty("ready").GetBoolean();
            }, seconds: 120);
            var home = Path.Combine(f.Server.DataDir, "homes", f.User);
            (await File.ReadAllTextAsync(Path.Combine(home, $"lib-{serverName}.txt"))).Trim().ShouldBe("42 from-the-environment");
            var env = await File.ReadAllLinesAsync(Path.Combine(home, $"env-{serverName}.txt"));
            env.ShouldContain($"DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE={f.EnvironmentId}");
            env.ShouldContain("ORRERY_ENVIRONMENT_WELCOME=Hello from teamlib");
            await f.ShouldHaveRunOnExpectedBackendAsync(Core.Compute.ResourceKind.Server);
        }
        finally
        {
            (await hub.DeleteAsync($"hub/api/users/{f.User}/servers/{serverName}")).IsSuccessStatusCode.ShouldBeTrue();
        }
    }
}

public sealed class HostEnvironmentFixture : EnvironmentUseFixture
{
    protected override string Base => "host";

    public override string ExpectedBackend => "local";
}

/// <summary>The local backend's realisation: a virtual environment over the host's Python.</summary>
public sealed class HostEnvironmentUseTests(HostEnvironmentFixture fixture) : IClassFixture<HostEnvironmentFixture>
{
    [Fact]
    public Task Job_InHostEnvironment_ImportsTheLibrary() => EnvironmentUse.JobImportsLibraryAsync(fixture);

    [Fact]
    public Task Cluster_InHostEnvironment_WorkersImportTheLibrary() => EnvironmentUse.ClusterWorkersImportLibraryAsync(fixture);

    [Fact]
    public Task Server_InHostEnvironment_ImportsTheLibrary() => EnvironmentUse.ServerImportsLibraryAsync(fixture);

    /// <summary>
    /// The drift warning. The seam: this machine has one python/dask/distributed (host and base image share Debian's), so a
    /// second environment's recorded versions are changed in the database to stand for one built from a newer base.
    /// </summary>
    [Fact]
    public async Task Cluster_FromServer_WithEnvironmentOfOtherVersions_IsWarnedBeforeItRuns()
    {
        var f = fixture;
        using var environments = new EnvironmentsClient(f.Server.Client(f.Token));
        var newer = await environments.BuildReadyAsync("name: newer-dask\nbase: host\n", EnvironmentsClient.Library(7));
        await using (var scope = f.Server.Services.CreateAsyncScopeHelper())
            await scope.Db().Environments.Where(e => e.ContentId == newer)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.VersionsJson, """{"python":"3.12.1","dask":"2024.1.0","distributed":"2024.1.0"}"""));

        using var hub = f.Server.Client(f.Token);
        (await hub.PostAsJsonAsync($"hub/api/users/{f.User}/servers/drift", new { profile = "tiny" })).IsSuccessStatusCode.ShouldBeTrue();
        try
        {
            string? serverToken = null;
            await Eventually.TrueAsync(async () =>
            {
                var file = Path.Combine(f.Server.DataDir, "homes", f.User, "env-drift.txt");
                serverToken = File.Exists(file) ? File.ReadAllLines(file).FirstOrDefault(l => l.StartsWith("JUPYTERHUB_API_TOKEN=", StringComparison.Ordinal))?.Split('=', 2)[1] : null;
                return serverToken is not null;
            }, seconds: 60);
            using var gateway = new GatewayClient(f.Server, serverToken);
            var same = await gateway.CreateClusterAsync();
            var drifting = await gateway.CreateClusterAsync(new Dictionary<string, object?> { ["image"] = "newer-dask" });
            await using (var scope = f.Server.Services.CreateAsyncScopeHelper())
            {
                var clusters = await scope.Db().Clusters.AsNoTracking().Where(c => c.Name == same || c.Name == drifting).ToDictionaryAsync(c => c.Name);
                clusters[same].Warning.ShouldBeNull();
                clusters[drifting].EnvironmentId.ShouldBe(newer);
                clusters[drifting].Warning.ShouldNotBeNull();
                clusters[drifting].Warning!.ShouldContain("dask 2024.1.0 (cluster) vs");
            }
            using var browser = await Browser.LoggedInAsync(f.Server, f.User, EnvironmentUseFixture.Password);
            var page = await browser.GetStringAsync(GatewayClient.Prefix);
            page.ShouldContain("Warning:");
            await gateway.StopQuietlyAsync(same, drifting);
        }
        finally
        {
            await hub.DeleteAsync($"hub/api/users/{f.User}/servers/drift");
        }
    }

    [Fact]
    public async Task Server_ProfileDefaultEnvironment_UsedWhenTheUserChoosesNone()
    {
        using var admin = new EnvironmentsClient(fixture.Server.AdminClient());
        var path = $"{EnvironmentsClient.Prefix}/{fixture.EnvironmentId}";
        (await admin.Http.PatchAsync(path, JsonContent.Create(new { default_for_profile = EnvironmentUseFixture.LibraryProfile }))).EnsureSuccessStatusCode();
        try
        {
            await EnvironmentUse.ServerImportsLibraryAsync(fixture, "dflt", new { profile = EnvironmentUseFixture.LibraryProfile });
            // A profile's default is everyone's to use: a server of that profile hands it to its clusters and jobs.
            var (_, strangerToken) = await fixture.Server.CreateUserAsync("env-profile-user");
            using var stranger = new Kbatch(fixture.Server.Client(strangerToken));
            var job = Kbatch.Name(await stranger.SubmitAsync(KbatchBodies.Job("default-env", ["python3", "-c", "import orrery_testlib; print('answer', orrery_testlib.answer())"],
                image: fixture.EnvironmentId)));
            (await stranger.WaitFinishedAsync(job, seconds: 120)).ShouldSatisfyAllConditions(j => Kbatch.Count(j, "succeeded").ShouldBe(1));
            (await stranger.LogsAsync($"jobs/logs/{job}/")).ShouldContain("answer 42");
        }
        finally
        {
            (await admin.Http.PatchAsync(path, JsonContent.Create(new { default_for_profile = (string?)null }))).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Cluster_WithEnvironmentStillBuildingOrUnknownToUser_422()
    {
        var f = fixture;
        var (_, otherToken) = await f.Server.CreateUserAsync("env-stranger");
        using var stranger = new GatewayClient(f.Server, otherToken);
        var response = await stranger.Http.PostAsJsonAsync("api/v1/clusters/", new { cluster_options = new { image = f.EnvironmentId } });
        (await GatewayClient.ErrorAsync(response, 422)).ShouldContain("not shared with you");
    }
}
