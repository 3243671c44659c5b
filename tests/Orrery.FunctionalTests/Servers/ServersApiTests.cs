using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// JupyterHub's personal-server REST API (protocol notes §1.6, §1.8–§1.10, §2.2, §4.1, §4.5) against real
/// processes started from the cheap profiles of <see cref="ServerProfiles"/>.
/// </summary>
public class ServersApiTests(ServersFixture fixture) : IClassFixture<ServersFixture>
{
    private static readonly string[] ServerModelKeys =
        ["name", "last_activity", "started", "pending", "ready", "stopped", "url", "user_options", "progress_url"];

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Start_Default_201EmptyText_ModelReady_SecondStart400_Stop204_ModelEmpty()
    {
        var (name, token) = await Server.CreateUserAsync("life");
        using var client = Server.Client(token);
        const string options = """{"profile": "tiny", "colour": "blue", "n": 2}""";

        var started = await ServerApi.StartAsync(client, name, "", options);
        started.StatusCode.ShouldBe(HttpStatusCode.Created);
        started.Content.Headers.ContentType?.MediaType.ShouldBe("text/plain");
        (await started.Content.ReadAsStringAsync()).ShouldBe("");
        started.Headers.GetValues("X-JupyterHub-Version").ShouldBe(["3.0.0"]);

        var model = await ServerApi.ModelAsync(client, name);
        model.GetProperty("server").GetString().ShouldBe($"/user/{name}/");
        model.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("servers").Keys().ShouldBe([""]);
        var server = model.GetProperty("servers").GetProperty("");
        server.Keys().ShouldBe(ServerModelKeys, ignoreOrder: true);
        server.GetProperty("name").GetString().ShouldBe("");
        server.GetProperty("ready").GetBoolean().ShouldBeTrue();
        server.GetProperty("stopped").GetBoolean().ShouldBeFalse();
        server.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        server.GetProperty("url").GetString().ShouldBe($"/user/{name}/");
        server.GetProperty("progress_url").GetString().ShouldBe($"/hub/api/users/{name}/server/progress");
        server.GetProperty("started").GetString()!.ShouldMatch(ServerApi.IsoTime);
        server.GetProperty("last_activity").GetString()!.ShouldMatch(ServerApi.IsoTime);
        JsonNode.DeepEquals(JsonNode.Parse(server.GetProperty("user_options").GetRawText()), JsonNode.Parse(options)).ShouldBeTrue(
            $"user_options {server.GetProperty("user_options").GetRawText()} should be the posted body {options}");

        // An admin (admin:server_state) also sees the spawner's private state.
        using var admin = Server.AdminClient();
        var adminView = (await ServerApi.ModelAsync(admin, name)).GetProperty("servers").GetProperty("");
        adminView.Keys().ShouldBe([.. ServerModelKeys, "state"], ignoreOrder: true);
        adminView.GetProperty("state").ValueKind.ShouldBe(JsonValueKind.Object);

        (await (await ServerApi.StartAsync(client, name, "", options)).ShouldBeHubErrorAsync(400)).ShouldBe($"{name} is already running");
        (await (await ServerApi.StopAsync(client, name, "", remove: true)).ShouldBeHubErrorAsync(400)).ShouldBe("Cannot delete the default server");
        (await ServerApi.ModelAsync(client, name)).GetProperty("server").GetString().ShouldBe($"/user/{name}/");

        var stopped = await ServerApi.StopAsync(client, name, "");
        stopped.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await stopped.Content.ReadAsStringAsync()).ShouldBe("");

        model = await ServerApi.ModelAsync(client, name);
        model.GetProperty("server").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("servers").Keys().ShouldBeEmpty();

        var withStopped = (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers");
        withStopped.Keys().ShouldBe([""]);
        var stoppedServer = withStopped.GetProperty("");
        stoppedServer.Keys().ShouldBe(ServerModelKeys, ignoreOrder: true);
        stoppedServer.GetProperty("stopped").GetBoolean().ShouldBeTrue();
        stoppedServer.GetProperty("ready").GetBoolean().ShouldBeFalse();
        stoppedServer.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        stoppedServer.GetProperty("started").ValueKind.ShouldBe(JsonValueKind.Null);

        (await (await client.GetAsync($"hub/api/users/{name}/server/progress")).ShouldBeHubErrorAsync(400))
            .ShouldBe($"{name} is not starting...");
    }

    [Fact]
    public async Task Progress_RunningServer_EventStreamWithReadyEventAtOnce()
    {
        var (name, token) = await Server.CreateUserAsync("prog");
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        try
        {
            var (response, text) = await ServerApi.ProgressToEndAsync(client, $"hub/api/users/{name}/server/progress");
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Content.Headers.ContentType?.MediaType.ShouldBe("text/event-stream");
            response.Headers.CacheControl?.NoCache.ShouldBeTrue();
            text.ShouldStartWith("\n\n");
            var events = ServerApi.Events(text);
            events.Count.ShouldBe(1);
            var ready = events[0];
            ready.GetProperty("progress").GetInt32().ShouldBe(100);
            ready.GetProperty("ready").GetBoolean().ShouldBeTrue();
            ready.GetProperty("url").GetString().ShouldBe($"/user/{name}/");
            ready.GetProperty("message").GetString().ShouldBe($"Server ready at /user/{name}/");
            ready.GetProperty("html_message").GetString().ShouldBe($"Server ready at <a href=\"/user/{name}/\">/user/{name}/</a>");
        }
        finally
        {
            await ServerApi.StopAsync(client, name, "");
        }
    }

    [Fact]
    public async Task Start_BrokenProfile_500NamingFailure_ProgressFailedWithLastLogLine_ThenStartsAgain()
    {
        var (name, token) = await Server.CreateUserAsync("broke");
        using var client = Server.Client(token);

        // JupyterHub answers 500 "Spawner failed to start [status=3]. The logs for <name> may contain details."
        var message = await (await ServerApi.StartAsync(client, name, "", """{"profile": "broken"}""")).ShouldBeHubErrorAsync(500);
        message.ShouldStartWith("Spawner failed to start");
        message.ShouldContain("status 3");
        message.ShouldContain("boom");

        var (response, text) = await ServerApi.ProgressToEndAsync(client, $"hub/api/users/{name}/server/progress");
        response.Content.Headers.ContentType?.MediaType.ShouldBe("text/event-stream");
        text.ShouldStartWith("\n\n");
        var final = ServerApi.Events(text)[^1];
        final.GetProperty("failed").GetBoolean().ShouldBeTrue();
        final.GetProperty("progress").GetInt32().ShouldBe(100);
        final.GetProperty("message").GetString()!.ShouldStartWith("Spawn failed");
        final.GetProperty("message").GetString()!.ShouldContain("boom");
        final.TryGetProperty("ready", out _).ShouldBeFalse();

        var model = await ServerApi.ModelAsync(client, name);
        model.GetProperty("server").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("servers").Keys().ShouldBeEmpty();

        // A failed spawn does not block the next one.
        (await ServerApi.StartAsync(client, name, "", """{"profile": "tiny"}""")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task NeverStartedDefault_Stop204_Progress404_RemoveIs400()
    {
        var (name, token) = await Server.CreateUserAsync("never");
        using var client = Server.Client(token);
        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await client.GetAsync($"hub/api/users/{name}/server/progress")).ShouldBeHubErrorAsync(404);
        // JupyterHub checks `remove` on the default server before anything else.
        (await (await ServerApi.StopAsync(client, name, "", remove: true)).ShouldBeHubErrorAsync(400)).ShouldBe("Cannot delete the default server");
    }

    [Fact]
    public async Task NamedServer_Start201_OwnUrlAndIdentity_RemoveDeletesRecord_UnknownNamed404()
    {
        var (name, token) = await Server.CreateUserAsync("named");
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "gpu", """{"profile": "tiny"}""")).StatusCode.ShouldBe(HttpStatusCode.Created);

        var model = await ServerApi.ModelAsync(client, name);
        model.GetProperty("server").ValueKind.ShouldBe(JsonValueKind.Null);   // only the default server's URL
        model.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("servers").Keys().ShouldBe(["gpu"]);
        var gpu = model.GetProperty("servers").GetProperty("gpu");
        gpu.Keys().ShouldBe(ServerModelKeys, ignoreOrder: true);
        gpu.GetProperty("name").GetString().ShouldBe("gpu");
        gpu.GetProperty("ready").GetBoolean().ShouldBeTrue();
        gpu.GetProperty("url").GetString().ShouldBe($"/user/{name}/gpu/");
        gpu.GetProperty("progress_url").GetString().ShouldBe($"/hub/api/users/{name}/servers/gpu/progress");

        var env = await ServerApi.EnvironmentAsync(Server, name, "gpu");
        env["JUPYTERHUB_SERVER_NAME"].ShouldBe("gpu");
        env["JUPYTERHUB_CLIENT_ID"].ShouldBe($"jupyterhub-user-{name}-gpu");
        env["JUPYTERHUB_SERVICE_PREFIX"].ShouldBe($"/user/{name}/gpu/");
        env["JUPYTERHUB_SERVICE_URL"].ShouldMatch($@"^http://127\.0\.0\.1:\d+/user/{name}/gpu/$");
        env["JUPYTERHUB_OAUTH_CALLBACK_URL"].ShouldBe($"/user/{name}/gpu/oauth_callback");
        JsonSerializer.Deserialize<string[]>(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])
            .ShouldBe([$"access:servers!server={name}/gpu", $"access:servers!user={name}"], ignoreOrder: true);

        var (progress, text) = await ServerApi.ProgressToEndAsync(client, $"hub/api/users/{name}/servers/gpu/progress");
        progress.StatusCode.ShouldBe(HttpStatusCode.OK);
        ServerApi.Events(text)[^1].GetProperty("url").GetString().ShouldBe($"/user/{name}/gpu/");

        (await ServerApi.StopAsync(client, name, "gpu", remove: true)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers").Keys().ShouldBeEmpty();

        (await (await ServerApi.StopAsync(client, name, "x")).ShouldBeHubErrorAsync(404)).ShouldBe($"{name} has no server named 'x'");
        (await (await ServerApi.StopAsync(client, name, "gpu")).ShouldBeHubErrorAsync(404)).ShouldBe($"{name} has no server named 'gpu'");
    }

    [Fact]
    public async Task NamedServer_StopWithoutRemove_KeepsStoppedRecord()
    {
        var (name, token) = await Server.CreateUserAsync("keep");
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "lab", """{"profile": "tiny"}""")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ServerApi.StopAsync(client, name, "lab")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await ServerApi.ModelAsync(client, name)).GetProperty("servers").Keys().ShouldBeEmpty();
        var all = (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers");
        all.Keys().ShouldBe(["lab"]);
        all.GetProperty("lab").GetProperty("stopped").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task InvalidServerName_SlashEncoded_400MayNotContainSlash()
    {
        var (name, token) = await Server.CreateUserAsync("slash");
        using var client = Server.Client(token);
        var message = await (await client.PostAsync($"hub/api/users/{name}/servers/a%2Fb", null)).ShouldBeHubErrorAsync(400);
        message.ShouldBe("Invalid server_name (may not contain '/'): a/b");
    }

    [Fact]
    public async Task InvalidServerName_WithSpaceAndUpper_400()
    {
        var (name, token) = await Server.CreateUserAsync("space");
        using var client = Server.Client(token);
        var message = await (await client.PostAsync($"hub/api/users/{name}/servers/Bad%20Name", null)).ShouldBeHubErrorAsync(400);
        message.ShouldContain("Invalid server_name");
        message.ShouldContain("Bad Name");
        (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers").Keys().ShouldBeEmpty();
    }

    [Fact]
    public async Task UnknownProfile_400ListingValidSlugs()
    {
        var (name, token) = await Server.CreateUserAsync("prof");
        using var client = Server.Client(token);
        var message = await (await ServerApi.StartAsync(client, name, "", """{"profile": "nope"}""")).ShouldBeHubErrorAsync(400);
        message.ShouldContain("'nope'");
        foreach (var slug in new[] { "tiny", "broken", "slow" })
            message.ShouldContain(slug);
        (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers").Keys().ShouldBeEmpty();
    }

    [Fact]
    public async Task GroupedProfile_OutsideGroup400_InsideGroup201()
    {
        var (name, token) = await Server.CreateUserAsync("grp");
        using var client = Server.Client(token);
        var message = await (await ServerApi.StartAsync(client, name, "", """{"profile": "grouped"}""")).ShouldBeHubErrorAsync(400);
        message.ShouldContain("grouped");
        message.ShouldContain(ServerProfiles.GpuGroup);

        using var admin = Server.AdminClient();
        (await admin.PostAsJsonAsync($"hub/api/groups/{ServerProfiles.GpuGroup}/users", new { users = new[] { name } })).EnsureSuccessStatusCode();
        (await ServerApi.StartAsync(client, name, "", """{"profile": "grouped"}""")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Access_OtherUsersServer404_MissingScope403_Admin201()
    {
        var (alice, aliceToken) = await Server.CreateUserAsync("alice");
        var (bob, _) = await Server.CreateUserAsync("bob");
        using var asAlice = Server.Client(aliceToken);
        (await (await ServerApi.StartAsync(asAlice, bob, "")).ShouldBeHubErrorAsync(404)).ShouldBe("No access to resources or resources not found");
        (await (await ServerApi.StopAsync(asAlice, bob, "")).ShouldBeHubErrorAsync(404)).ShouldBe("No access to resources or resources not found");
        await (await asAlice.GetAsync($"hub/api/users/{bob}/server/progress")).ShouldBeHubErrorAsync(404);

        var readOnly = await Server.CreateTokenAsync(alice, new { note = "read only", scopes = new[] { $"read:servers!user={alice}" } });
        using var limited = Server.Client(readOnly);
        (await (await ServerApi.StartAsync(limited, alice, "")).ShouldBeHubErrorAsync(403)).ShouldContain("requires any of [servers]");
        (await (await ServerApi.StopAsync(limited, alice, "")).ShouldBeHubErrorAsync(403)).ShouldContain("delete:servers");

        using var admin = Server.AdminClient();
        (await ServerApi.StartAsync(admin, bob, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ServerApi.ModelAsync(admin, bob)).GetProperty("server").GetString().ShouldBe($"/user/{bob}/");
        (await ServerApi.StopAsync(admin, bob, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task UsersList_StateFilter_ReadyActiveInactive()
    {
        var prefix = Unique("lst");
        var (running, runningToken) = await Server.CreateUserAsync(prefix);
        var (idle, _) = await Server.CreateUserAsync(prefix);
        using var client = Server.Client(runningToken);
        (await ServerApi.StartAsync(client, running, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        try
        {
            using var admin = Server.AdminClient();
            (await ServerApi.ListAsync(admin, prefix, "ready")).ShouldBe([running]);
            (await ServerApi.ListAsync(admin, prefix, "active")).ShouldBe([running]);
            (await ServerApi.ListAsync(admin, prefix, "inactive")).ShouldBe([idle]);
            (await ServerApi.ListAsync(admin, prefix, null)).ShouldBe([running, idle], ignoreOrder: true);
        }
        finally
        {
            (await ServerApi.StopAsync(client, running, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }
        using var admin2 = Server.AdminClient();
        (await ServerApi.ListAsync(admin2, prefix, "ready")).ShouldBeEmpty();
        (await ServerApi.ListAsync(admin2, prefix, "inactive")).ShouldBe([running, idle], ignoreOrder: true);
    }

    [Fact]
    public async Task Environment_HasJupyterHubAndDaskVariables_ServerTokenIsNotAdmin_RevokedOnStop()
    {
        var (name, token) = await Server.CreateUserAsync("envadm", admin: true);
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);   // no body: the default profile
        var serverModel = (await ServerApi.ModelAsync(client, name)).GetProperty("servers").GetProperty("");
        serverModel.GetProperty("user_options").GetRawText().ShouldBe("{}");

        var env = await ServerApi.EnvironmentAsync(Server, name, "");
        var hubApi = new Uri(Server.BaseAddress, "hub/api").ToString();
        hubApi.ShouldStartWith("http://127.0.0.1:");
        var home = Path.Combine(Server.DataDir, "homes", name);

        env["JUPYTERHUB_API_TOKEN"].ShouldMatch("^[0-9a-f]{32,}$");
        env["JPY_API_TOKEN"].ShouldBe(env["JUPYTERHUB_API_TOKEN"]);
        env["JUPYTERHUB_CLIENT_ID"].ShouldBe($"jupyterhub-user-{name}");
        env["JUPYTERHUB_API_URL"].ShouldBe(hubApi);
        env["JUPYTERHUB_API_URL"].ShouldEndWith("/hub/api");
        env["JUPYTERHUB_BASE_URL"].ShouldBe("/");
        env["JUPYTERHUB_SERVICE_PREFIX"].ShouldBe($"/user/{name}/");
        env["JUPYTERHUB_SERVICE_URL"].ShouldMatch($@"^http://127\.0\.0\.1:\d+/user/{name}/$");
        env["JUPYTERHUB_OAUTH_CALLBACK_URL"].ShouldBe($"/user/{name}/oauth_callback");
        JsonSerializer.Deserialize<string[]>(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])
            .ShouldBe([$"access:servers!server={name}/", $"access:servers!user={name}"], ignoreOrder: true);
        env["JUPYTERHUB_USER"].ShouldBe(name);
        env["JUPYTERHUB_SERVER_NAME"].ShouldBe("");
        env["JUPYTERHUB_ACTIVITY_URL"].ShouldBe($"{hubApi}/users/{name}/activity");
        env["HOME"].ShouldBe(home);
        env["USER"].ShouldBe(name);

        env["DASK_GATEWAY__ADDRESS"].ShouldEndWith("/services/dask-gateway");
        env["DASK_GATEWAY__ADDRESS"].ShouldStartWith("http://127.0.0.1:");
        env["DASK_GATEWAY__PROXY_ADDRESS"].ShouldBe($"gateway://127.0.0.1:{Server.BaseAddress.Port}");
        env["DASK_GATEWAY__PUBLIC_ADDRESS"].ShouldEndWith("/services/dask-gateway");
        env["DASK_GATEWAY__AUTH__TYPE"].ShouldBe("jupyterhub");
        env.ShouldContainKey("DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE");

        // The server's token: whoami works, with the gateway scope, and no admin powers even for an admin's server.
        using var asServer = Server.Client(env["JUPYTERHUB_API_TOKEN"]);
        var whoami = await (await asServer.GetAsync("hub/api/user")).JsonAsync();
        whoami.GetProperty("name").GetString().ShouldBe(name);
        var scopes = whoami.GetProperty("scopes").Strings();
        scopes.ShouldContain("access:services!service=dask-gateway");
        scopes.ShouldAllBe(s => s.Contains('!'), $"unfiltered scope in {string.Join(" ", scopes)}");
        scopes.ShouldNotContain(s => s.StartsWith("admin"));
        await (await asServer.GetAsync("hub/api/users")).ShouldBeHubErrorAsync(403);

        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await asServer.GetAsync("hub/api/user")).ShouldBeHubErrorAsync(403);
    }

    [Fact]
    public async Task Home_Mode0700_FilesSurviveStopAndStart()
    {
        var (name, token) = await Server.CreateUserAsync("home");
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        var home = Path.Combine(Server.DataDir, "homes", name);
        File.GetUnixFileMode(home).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await File.WriteAllTextAsync(Path.Combine(home, "keep.txt"), "still here");
        var firstToken = (await ServerApi.EnvironmentAsync(Server, name, ""))["JUPYTERHUB_API_TOKEN"];
        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await File.ReadAllTextAsync(Path.Combine(home, "keep.txt"))).ShouldBe("still here");
        // Each run has its own token (the env file was written again by the new run).
        (await ServerApi.EnvironmentAsync(Server, name, ""))["JUPYTERHUB_API_TOKEN"].ShouldNotBe(firstToken);
        (await ServerApi.StopAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Activity_ServerEntryMovesLastActivity_UnknownServer400()
    {
        var (name, token) = await Server.CreateUserAsync("act");
        using var client = Server.Client(token);
        (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
        try
        {
            var before = (await ServerApi.ModelAsync(client, name)).GetProperty("servers").GetProperty("").GetProperty("last_activity").GetString()!;
            var when = DateTime.UtcNow.AddMinutes(2).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            string.CompareOrdinal(when, before).ShouldBeGreaterThan(0);

            // As singleuser does: with the server's own token.
            using var asServer = Server.Client((await ServerApi.EnvironmentAsync(Server, name, ""))["JUPYTERHUB_API_TOKEN"]);
            var reported = await asServer.PostAsync($"hub/api/users/{name}/activity",
                ActivityBody("", when));
            reported.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await ServerApi.ModelAsync(client, name)).GetProperty("servers").GetProperty("").GetProperty("last_activity").GetString().ShouldBe(when);

            // Activity only moves forward.
            var older = DateTime.UtcNow.AddMinutes(-30).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            (await asServer.PostAsync($"hub/api/users/{name}/activity", ActivityBody("", older))).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await ServerApi.ModelAsync(client, name)).GetProperty("servers").GetProperty("").GetProperty("last_activity").GetString().ShouldBe(when);

            var unknown = await client.PostAsync($"hub/api/users/{name}/activity",
                ActivityBody("nope", when));
            (await unknown.ShouldBeHubErrorAsync(400)).ShouldBe($"No such server 'nope' for user {name}");
        }
        finally
        {
            await ServerApi.StopAsync(client, name, "");
        }
    }

    /// <summary><c>{"servers": {"&lt;server&gt;": {"last_activity": "&lt;when&gt;"}}}</c></summary>
    private static JsonContent ActivityBody(string server, string when) =>
        JsonContent.Create(new Dictionary<string, object>
        {
            ["servers"] = new Dictionary<string, object> { [server] = new Dictionary<string, string> { ["last_activity"] = when } },
        });

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

/// <summary>Pending spawns (202), their progress stream, and the home quota, on an Orrery with a 1 s slow-spawn timeout.</summary>
public class ServersApiLimitsTests(ServersLimitsFixture fixture) : IClassFixture<ServersLimitsFixture>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task SlowSpawn_202_Again202_ModelPending_Stop400_ProgressStreamsEventsAndKeepAlives_ListActiveNotReady()
    {
        var (name, token) = await Server.CreateUserAsync("slow");
        using var client = Server.Client(token);

        var first = await ServerApi.StartAsync(client, name, "", """{"profile": "slow"}""");
        first.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        first.Content.Headers.ContentType?.MediaType.ShouldBe("text/plain");
        (await first.Content.ReadAsStringAsync()).ShouldBe("");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        (await ServerApi.StartAsync(client, name, "", """{"profile": "slow"}""")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(0.9), "an already pending spawn answers 202 at once");

        var model = await ServerApi.ModelAsync(client, name);
        model.GetProperty("server").ValueKind.ShouldBe(JsonValueKind.Null);
        model.GetProperty("pending").GetString().ShouldBe("spawn");
        var server = model.GetProperty("servers").GetProperty("");
        server.GetProperty("pending").GetString().ShouldBe("spawn");
        server.GetProperty("ready").GetBoolean().ShouldBeFalse();
        server.GetProperty("stopped").GetBoolean().ShouldBeFalse();
        server.GetProperty("started").GetString()!.ShouldMatch(ServerApi.IsoTime);

        (await (await ServerApi.StopAsync(client, name, "")).ShouldBeHubErrorAsync(400)).ShouldBe($"{name} is pending spawn, please wait");

        var text = await ServerApi.ProgressUntilAsync(client, $"hub/api/users/{name}/server/progress",
            t => ServerApi.Events(t).Count >= 2 && t.EndsWith("}\n\n\n\n", StringComparison.Ordinal));
        text.ShouldStartWith("\n\n");
        foreach (var block in text.Split("\n\n").Where(b => b.Length > 0))
            block.ShouldStartWith("data: {");
        var events = ServerApi.Events(text);
        events[0].GetProperty("progress").GetInt32().ShouldBe(0);
        events[0].GetProperty("message").GetString().ShouldBe("Server requested");
        events[1].GetProperty("progress").GetInt32().ShouldBe(50);
        foreach (var e in events)
            (e.TryGetProperty("ready", out _) || e.TryGetProperty("failed", out _)).ShouldBeFalse("no final event while the spawn is pending");

        using var admin = Server.AdminClient();
        (await ServerApi.ListAsync(admin, name, "active")).ShouldBe([name]);
        (await ServerApi.ListAsync(admin, name, "ready")).ShouldBeEmpty();
        (await ServerApi.ListAsync(admin, name, "inactive")).ShouldBeEmpty();
    }

    [Fact]
    public async Task HomeOverQuota_Start400NamingQuota()
    {
        var (name, token) = await Server.CreateUserAsync("quota");
        var home = Directory.CreateDirectory(Path.Combine(Server.DataDir, "homes", name)).FullName;
        await File.WriteAllBytesAsync(Path.Combine(home, "big.bin"), new byte[4096]);
        using var client = Server.Client(token);
        var message = await (await ServerApi.StartAsync(client, name, "", """{"profile": "slow"}""")).ShouldBeHubErrorAsync(400);
        message.ShouldContain("quota");
        message.ShouldContain("1 KiB");
        message.ShouldContain("4 KiB");
        (await ServerApi.ModelAsync(client, name, includeStopped: true)).GetProperty("servers").Keys().ShouldBeEmpty();
    }
}

/// <summary>An Orrery restart while a server runs: re-attached, still ready and stoppable.</summary>
public class ServersApiRestartTests
{
    [Fact]
    public async Task Restart_RunningServer_StillReady_TokenWorks_Stop204_ProcessGone()
    {
        var server = await OrreryTestServer.StartAsync(ServerProfiles.Settings());
        try
        {
            var (name, token) = await server.CreateUserAsync("rst");
            using (var client = server.Client(token))
                (await ServerApi.StartAsync(client, name, "")).StatusCode.ShouldBe(HttpStatusCode.Created);
            var env = await ServerApi.EnvironmentAsync(server, name, "");
            var pid = int.Parse((await File.ReadAllTextAsync(Path.Combine(server.DataDir, "homes", name, "pid-.txt"))).Trim(),
                System.Globalization.CultureInfo.InvariantCulture);
            ServerApi.ProcessAlive(pid).ShouldBeTrue();

            server = await server.RestartAsync();

            using var after = server.Client(token);
            var model = await ServerApi.ModelAsync(after, name);
            model.GetProperty("server").GetString().ShouldBe($"/user/{name}/");
            model.GetProperty("servers").GetProperty("").GetProperty("ready").GetBoolean().ShouldBeTrue();
            ServerApi.ProcessAlive(pid).ShouldBeTrue();
            using (var asServer = server.Client(env["JUPYTERHUB_API_TOKEN"]))
                (await asServer.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
            var (_, text) = await ServerApi.ProgressToEndAsync(after, $"hub/api/users/{name}/server/progress");
            ServerApi.Events(text).Single().GetProperty("ready").GetBoolean().ShouldBeTrue();

            (await ServerApi.StopAsync(after, name, "")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            await Eventually.TrueAsync(() => Task.FromResult(!ServerApi.ProcessAlive(pid)), seconds: 10);
            (await ServerApi.ModelAsync(after, name)).GetProperty("server").ValueKind.ShouldBe(JsonValueKind.Null);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>Requests and readers shared by the server tests.</summary>
internal static class ServerApi
{
    public const string IsoTime = @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$";

    public static string Route(string user, string server) =>
        server.Length == 0 ? $"hub/api/users/{user}/server" : $"hub/api/users/{user}/servers/{server}";

    public static Task<HttpResponseMessage> StartAsync(HttpClient client, string user, string server, string? body = null) =>
        client.PostAsync(Route(user, server), body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> StopAsync(HttpClient client, string user, string server, bool remove = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, Route(user, server));
        if (remove)
            request.Content = JsonContent.Create(new { remove = true });
        return client.SendAsync(request);
    }

    public static async Task<JsonElement> ModelAsync(HttpClient client, string user, bool includeStopped = false)
    {
        var response = await client.GetAsync($"hub/api/users/{user}" + (includeStopped ? "?include_stopped_servers=1" : ""));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    public static async Task<string[]> ListAsync(HttpClient admin, string nameFilter, string? state)
    {
        var response = await admin.GetAsync($"hub/api/users?name_filter={nameFilter}" + (state is null ? "" : $"&state={state}"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await response.JsonAsync()).EnumerateArray().Select(u => u.GetProperty("name").GetString()!).ToArray();
    }

    /// <summary>The environment the tiny profile wrote to <c>$HOME/env-&lt;server&gt;.txt</c> (before it served, so complete once ready).</summary>
    public static async Task<Dictionary<string, string>> EnvironmentAsync(OrreryTestServer server, string user, string serverName)
    {
        var file = System.IO.Path.Combine(server.DataDir, "homes", user, $"env-{serverName}.txt");
        File.Exists(file).ShouldBeTrue($"{file} should have been written by the server process");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in await File.ReadAllLinesAsync(file))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                env[line[..eq]] = line[(eq + 1)..];
        }
        return env;
    }

    /// <summary>Reads a progress stream to its end (it must end: the final event closes it).</summary>
    public static async Task<(HttpResponseMessage Response, string Text)> ProgressToEndAsync(HttpClient client, string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (response, await response.Content.ReadAsStringAsync(timeout.Token));
    }

    /// <summary>Reads a progress stream until <paramref name="enough"/> holds for what arrived, then hangs up.</summary>
    public static async Task<string> ProgressUntilAsync(HttpClient client, string path, Func<string, bool> enough)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("text/event-stream");
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!enough(text.ToString()))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
                throw new InvalidOperationException($"The progress stream ended early: {text}");
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return text.ToString();
    }

    /// <summary>The events of a stream: blocks separated by blank lines, each <c>data: {one-line json}</c>.</summary>
    public static List<JsonElement> Events(string text) =>
        text.Split("\n\n").Where(b => b.Length > 0).Select(b =>
        {
            b.ShouldStartWith("data: ");
            b.ShouldNotContain("\n");
            return JsonDocument.Parse(b["data: ".Length..]).RootElement.Clone();
        }).ToList();

    /// <summary>Alive = /proc entry present and not a zombie.</summary>
    public static bool ProcessAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !Regex.IsMatch(stat, @"^\d+ \(.*\) [ZX] ");
        }
        catch (IOException)
        {
            return false;
        }
    }
}
