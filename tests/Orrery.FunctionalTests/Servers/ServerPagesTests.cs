using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Servers.Pages;

namespace Orrery.FunctionalTests.Servers;

/// <summary>One server for the page tests: cheap profiles (one limited to a group, one slow, one broken) and a small home quota.</summary>
public sealed class ServerPagesFixture : IAsyncLifetime
{
    public const string Group = "page-gpu-users";
    public const string Quota = "64K";

    private const string Serve = "p=${JUPYTERHUB_SERVICE_URL#http://127.0.0.1:}; exec python3 -m http.server --bind 127.0.0.1 ${p%%/*}";

    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Compute:StopGrace"] = "00:00:03",
            ["Orrery:Servers:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Servers:SlowSpawnTimeout"] = "00:00:01",
            ["Orrery:Servers:HomeQuota"] = Quota,
            ["Orrery:Servers:HomeUsageCacheLifetime"] = "00:00:00",
        };
        Profile(settings, 0, "tiny", "Tiny", Serve);
        settings["Orrery:Servers:Profiles:0:Description"] = "A tiny test server";
        settings["Orrery:Servers:Profiles:0:CpuLimit"] = "0.5";
        settings["Orrery:Servers:Profiles:0:MemoryLimit"] = "256M";
        settings["Orrery:Servers:Profiles:0:IdleTimeout"] = "01:00:00";
        settings["Orrery:Servers:Profiles:0:Default"] = "true";
        Profile(settings, 1, "gpu", "GPU box", Serve);
        settings["Orrery:Servers:Profiles:1:AllowedGroups:0"] = Group;
        Profile(settings, 2, "slow", "Slow", "sleep 60; " + Serve);
        Profile(settings, 3, "broken", "Broken", "echo boom; exit 3");
        _server = await OrreryTestServer.StartAsync(settings);
    }

    private static void Profile(Dictionary<string, string?> settings, int index, string slug, string displayName, string script)
    {
        var at = $"Orrery:Servers:Profiles:{index}:";
        settings[at + "Slug"] = slug;
        settings[at + "DisplayName"] = displayName;
        settings[at + "Command:0"] = "/bin/sh";
        settings[at + "Command:1"] = "-c";
        settings[at + "Command:2"] = script;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>
/// The hub's server pages driven like a browser (protocol notes §4.8): the spawn page's profiles, spawn → pending →
/// ready → home → stop, the progress stream with the login cookie, refusals (over quota, a broken profile), access
/// to others' pages, and the proxy's "server not running" answer.
/// </summary>
public partial class ServerPagesTests(ServerPagesFixture fixture) : IClassFixture<ServerPagesFixture>
{
    private const string Password = "correct-horse-battery";

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task SpawnPage_ListsOnlyProfilesOfTheUsersGroups_DefaultPreselected()
    {
        var (plain, _) = await Server.CreateUserAsync("plain", password: Password);
        var (member, _) = await Server.CreateUserAsync("member", password: Password);
        using (var admin = Server.AdminClient())
            (await admin.PostAsJsonAsync($"hub/api/groups/{ServerPagesFixture.Group}", new { users = new[] { member } })).EnsureSuccessStatusCode();
        using var plainBrowser = await Browser.LoggedInAsync(Server, plain, Password);
        using var memberBrowser = await Browser.LoggedInAsync(Server, member, Password);

        var plainPage = await plainBrowser.GetAsync("hub/spawn");
        var memberPage = await memberBrowser.GetStringAsync($"hub/spawn/{member}");

        plainPage.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await plainPage.Content.ReadAsStringAsync();
        ProfileChoices(html).ShouldBe(["tiny", "slow", "broken"]);
        html.ShouldContain("<input type=\"radio\" name=\"profile\" value=\"tiny\" checked>");
        html.ShouldContain("<strong>Tiny</strong>");
        html.ShouldContain("A tiny test server");
        WebUtility.HtmlDecode(html).ShouldContain("CPU: 0.5 cores · memory: 256 MiB · stops after 1 hour idle · no age limit");
        html.ShouldNotContain("GPU box");
        html.ShouldContain($"<form method=\"post\" action=\"/hub/spawn/{plain}\">");
        ProfileChoices(memberPage).ShouldBe(["tiny", "gpu", "slow", "broken"]);
        memberPage.ShouldContain("<strong>GPU box</strong>");

        // A profile of a group the user is not in is refused on post too.
        var refused = await plainBrowser.PostFormAsync("hub/spawn", $"hub/spawn/{plain}", ("profile", "gpu"));
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain($"Profile &#x27;gpu&#x27; is not available to user {plain}");
    }

    [Fact]
    public async Task Spawn_Post_PendingThenReady_HomeShowsLink_ProgressWithCookie_StopFromHome()
    {
        var (name, token) = await Server.CreateUserAsync("life", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        using var api = Server.Client(token);

        var spawned = await browser.PostFormAsync("hub/spawn", $"hub/spawn/{name}", ("profile", "tiny"));

        spawned.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        spawned.Headers.Location!.OriginalString.ShouldBe($"/hub/spawn-pending/{name}");
        await Eventually.TrueAsync(async () => await ReadyAsync(api, name));

        // Ready: the pending page and the spawn page both send the browser to the server.
        var pending = await browser.GetAsync($"hub/spawn-pending/{name}");
        pending.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        pending.Headers.Location!.OriginalString.ShouldBe($"/user/{name}/");
        (await browser.GetAsync($"hub/spawn/{name}")).Headers.Location!.OriginalString.ShouldBe($"/user/{name}/");

        var home = await browser.GetStringAsync("hub/home");
        var row = ServerRow(home, "");
        row.ShouldContain("<td class=\"status\">ready</td>");
        row.ShouldContain($"<a class=\"server-link\" href=\"/user/{name}/\">/user/{name}/</a>");
        row.ShouldContain("<td>Tiny</td>");
        row.ShouldMatch(@"<td>\d{4}-\d\d-\d\dT[^<]+Z</td><td>\d{4}-\d\d-\d\dT[^<]+Z</td>");
        row.ShouldContain("action=\"/hub/home/stop\"");
        home.ShouldContain($"<p id=\"home-usage\">Home directory: 0 B of 64 KiB</p>");

        // What the pending page's EventSource does: the progress API with the login cookie and a same-origin Referer.
        var progress = await SendAsync(browser, $"hub/api/users/{name}/server/progress", referer: new Uri(Server.BaseAddress, $"hub/spawn-pending/{name}").ToString());
        progress.StatusCode.ShouldBe(HttpStatusCode.OK);
        progress.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        (await progress.Content.ReadAsStringAsync()).ShouldContain($"\"ready\":true");
        (await SendAsync(browser, $"hub/api/users/{name}/server/progress", referer: null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var stopped = await browser.PostFormAsync("hub/home", "hub/home/stop", ("server", ""));

        stopped.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        stopped.Headers.Location!.OriginalString.ShouldBe("/hub/home");
        await Eventually.TrueAsync(async () => !await ReadyAsync(api, name));
        home = await browser.GetStringAsync("hub/home");
        ServerRow(home, "").ShouldContain("<td class=\"status\">stopped</td>");
        ServerRow(home, "").ShouldContain($"<a class=\"start\" href=\"/hub/spawn/{name}\"");
        home.ShouldContain($"<tr class=\"last-run\"><td colspan=\"6\" style=\"white-space: pre-wrap\">stopped by {name} (");
        (await browser.GetAsync($"hub/spawn-pending/{name}")).Headers.Location!.OriginalString.ShouldBe("/hub/home");
    }

    [Fact]
    public async Task SpawnWithProfileInQuery_StartsDirectly_PendingPageFollowsProgress_HomeShowsStarting()
    {
        var (name, token) = await Server.CreateUserAsync("slow", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var spawned = await browser.GetAsync($"hub/spawn/{name}?profile=slow");

        spawned.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        spawned.Headers.Location!.OriginalString.ShouldBe($"/hub/spawn-pending/{name}");
        var pending = await browser.GetAsync($"hub/spawn-pending/{name}");
        pending.StatusCode.ShouldBe(HttpStatusCode.OK);
        pending.Headers.GetValues("Referrer-Policy").ShouldBe(["same-origin"]);
        var html = await pending.Content.ReadAsStringAsync();
        html.ShouldContain($"new EventSource(\"/hub/api/users/{name}/server/progress\")");
        html.ShouldContain("<progress id=\"progress-bar\"");
        // While it starts, the spawn page leads to the pending page and home shows it starting.
        (await browser.GetAsync($"hub/spawn/{name}")).Headers.Location!.OriginalString.ShouldBe($"/hub/spawn-pending/{name}");
        var row = ServerRow(await browser.GetStringAsync("hub/home"), "");
        row.ShouldContain("<td class=\"status\">starting</td>");
        row.ShouldContain("<td>Slow</td>");
        row.ShouldContain($"<a href=\"/hub/spawn-pending/{name}\">progress</a>");

        // The proxy's answer for a server with a pending spawn: 303 to the pending page, back to the request after.
        var (status, headers, _) = await NotRunningAsync(name, $"/user/{name}/tree", isApiRequest: false);
        status.ShouldBe(303);
        headers.Location.ToString().ShouldBe($"/hub/spawn-pending/{name}?next=%2Fuser%2F{name}%2Ftree");
    }

    [Fact]
    public async Task Spawn_HomeOverQuota_RefusedWithMessage_HomeShowsUsage()
    {
        var (name, _) = await Server.CreateUserAsync("quota", password: Password);
        var home = Path.Combine(Server.DataDir, "homes", name);
        Directory.CreateDirectory(home);
        await File.WriteAllBytesAsync(Path.Combine(home, "big.bin"), new byte[100 * 1024]);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var refused = await browser.PostFormAsync("hub/spawn", $"hub/spawn/{name}", ("profile", "tiny"));

        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var html = await refused.Content.ReadAsStringAsync();
        html.ShouldContain($"The home directory of {name} holds 100 KiB, over its quota of 64 KiB; delete files from it before starting a server");
        html.ShouldContain("<input type=\"radio\" name=\"profile\" value=\"tiny\" checked>");   // the form again, to retry
        (await browser.GetStringAsync("hub/home")).ShouldContain(
            "Home directory: 100 KiB of 64 KiB <span class=\"error\">(over quota: delete files before starting a server)</span>");
    }

    [Fact]
    public async Task Spawn_BrokenProfile_FailureShownOnSpawnPageAndHome()
    {
        var (name, _) = await Server.CreateUserAsync("broken", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var failed = await browser.PostFormAsync("hub/spawn", $"hub/spawn/{name}", ("profile", "broken"));

        // Within the slow-spawn wait the process has exited: the form comes back with the reason;
        // otherwise the pending page would have shown it.
        if (failed.StatusCode != HttpStatusCode.Redirect)
        {
            ((int)failed.StatusCode).ShouldBe(500);
            (await failed.Content.ReadAsStringAsync()).ShouldContain("Spawner failed to start");
        }
        await Eventually.TrueAsync(async () => ServerRow(await browser.GetStringAsync("hub/home"), "").Contains("<td class=\"status\">stopped</td>"));
        var home = await browser.GetStringAsync("hub/home");
        home.ShouldContain("<tr class=\"last-run\"><td colspan=\"6\" style=\"white-space: pre-wrap\">Spawn failed: it exited before answering");
        home.ShouldContain("boom");
    }

    [Fact]
    public async Task NamedServer_FromHomeForm_RedirectsToItsSpawnPage()
    {
        var (name, _) = await Server.CreateUserAsync("named", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        (await browser.GetStringAsync("hub/home")).ShouldContain($"<form method=\"get\" action=\"/hub/spawn/{name}\">");

        var redirect = await browser.GetAsync($"hub/spawn/{name}?server_name=lab");
        var bad = await browser.GetAsync($"hub/spawn/{name}?server_name=Not%20Valid");

        redirect.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        redirect.Headers.Location!.OriginalString.ShouldBe($"/hub/spawn/{name}/lab");
        (await browser.GetStringAsync($"hub/spawn/{name}/lab")).ShouldContain($"<form method=\"post\" action=\"/hub/spawn/{name}/lab\">");
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task SpawnPages_OtherUsersServer_404ButAdminMay()
    {
        var (owner, _) = await Server.CreateUserAsync("owner", password: Password);
        var (other, _) = await Server.CreateUserAsync("other", password: Password);
        var (admin, _) = await Server.CreateUserAsync("padmin", admin: true, password: Password);
        using var otherBrowser = await Browser.LoggedInAsync(Server, other, Password);
        using var adminBrowser = await Browser.LoggedInAsync(Server, admin, Password);

        (await otherBrowser.GetAsync($"hub/spawn/{owner}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await otherBrowser.GetAsync($"hub/spawn/{owner}/lab")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await otherBrowser.GetAsync($"hub/spawn-pending/{owner}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await otherBrowser.GetAsync($"hub/spawn/{owner}?profile=tiny")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await otherBrowser.PostFormAsync("hub/spawn", $"hub/spawn/{owner}", ("profile", "tiny"))).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var adminPage = await adminBrowser.GetAsync($"hub/spawn/{owner}");
        adminPage.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await adminPage.Content.ReadAsStringAsync()).ShouldContain($"<form method=\"post\" action=\"/hub/spawn/{owner}\">");
    }

    [Theory]
    [InlineData("hub/spawn", "/hub/login?next=%2Fhub%2Fspawn")]
    [InlineData("hub/spawn/someone?profile=tiny", "/hub/login?next=%2Fhub%2Fspawn%2Fsomeone%3Fprofile%3Dtiny")]
    [InlineData("hub/spawn-pending/someone", "/hub/login?next=%2Fhub%2Fspawn-pending%2Fsomeone")]
    public async Task Pages_LoggedOut_RedirectToLoginWithNext(string page, string location)
    {
        using var browser = Browser.New(Server);

        var response = await browser.GetAsync(page);

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe(location);
    }

    [Fact]
    public async Task Home_NewUser_DefaultServerStoppedWithStartLink()
    {
        var (name, _) = await Server.CreateUserAsync("fresh", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var home = await browser.GetStringAsync("hub/home");

        home.ShouldContain($"Signed in as <strong>{name}</strong>");
        var row = ServerRow(home, "");
        row.ShouldContain("<td>Default server</td><td class=\"status\">stopped</td>");
        row.ShouldContain($"<a class=\"start\" href=\"/hub/spawn/{name}\"");
        home.ShouldNotContain("class=\"last-run\"");
    }

    [Fact]
    public async Task Stop_WithoutAntiforgeryToken_Returns400()
    {
        var (name, _) = await Server.CreateUserAsync("csrfstop", password: Password);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        await browser.GetStringAsync("hub/home");

        var response = await browser.PostAsync("hub/home/stop", Browser.Form(("server", "")));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task NotRunning_ApiRequest_424JsonWithSpawnUrl()
    {
        var (name, _) = await Server.CreateUserAsync("gone");

        var (status, headers, body) = await NotRunningAsync(name, $"/user/{name}/api/status", isApiRequest: true);

        status.ShouldBe(424);
        headers.ContentType.ToString().ShouldBe("application/json");
        var json = JsonDocument.Parse(body).RootElement;
        json.Keys().ShouldBe(["message"]);
        json.GetProperty("message").GetString().ShouldBe(
            $"JupyterHub server no longer running at /user/{name}/api/status. Restart the server at http://{Server.BaseAddress.Authority}/hub/spawn/{name}");
    }

    [Fact]
    public async Task NotRunning_BrowserRequest_424PageWithLaunchButton()
    {
        var (name, _) = await Server.CreateUserAsync("launch");

        var (status, headers, body) = await NotRunningAsync(name, $"/hub/user/{name}/tree", isApiRequest: false);

        status.ShouldBe(424);
        headers.ContentType.ToString().ShouldStartWith("text/html");
        body.ShouldContain("<h1>Server not running</h1>");
        body.ShouldContain($"<a id=\"start\" role=\"button\" href=\"/hub/spawn/{name}?next=%2Fuser%2F{name}%2Ftree\"");
        body.ShouldContain(">Launch Server</a>");
    }

    [Theory]
    [InlineData("GET", "application/json", "tree", true)]
    [InlineData("GET", "text/html,application/xhtml+xml,*/*;q=0.8", "tree", false)]
    [InlineData("GET", "text/html;q=0.5, application/json", "tree", true)]
    [InlineData("GET", "*/*", "api/kernels", true)]
    [InlineData("GET", "", "lab/tree/x.ipynb", false)]
    [InlineData("POST", "text/html", "tree", true)]
    public void IsApiRequest_AsJupyterHubDecides(string method, string accept, string pathInServer, bool expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Headers.Accept = accept;

        ServerPages.IsApiRequest(context.Request, pathInServer).ShouldBe(expected);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static async Task<bool> ReadyAsync(HttpClient api, string name)
    {
        var model = await (await api.GetAsync($"hub/api/users/{name}")).JsonAsync();
        return model.GetProperty("servers").TryGetProperty("", out var server) && server.GetProperty("ready").GetBoolean();
    }

    /// <summary>Calls the proxy's helper the way the proxy does, on a request to <paramref name="path"/>.</summary>
    private async Task<(int Status, IHeaderDictionary Headers, string Body)> NotRunningAsync(string user, string path, bool isApiRequest)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = "GET";
        context.Request.Scheme = "http";
        context.Request.Host = new HostString(Server.BaseAddress.Authority);
        context.Request.Path = path;
        using var body = new MemoryStream();
        context.Response.Body = body;

        await ServerPages.WriteNotRunningAsync(context, user, "", isApiRequest);

        return (context.Response.StatusCode, context.Response.Headers, System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient browser, string path, string? referer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (referer is not null)
            request.Headers.TryAddWithoutValidation("Referer", referer);
        return await browser.SendAsync(request);
    }

    private static string[] ProfileChoices(string html) =>
        ProfileRadio().Matches(html).Select(m => m.Groups[1].Value).ToArray();

    /// <summary>The home page's table row of one server.</summary>
    private static string ServerRow(string html, string server)
    {
        var match = Regex.Match(html, $"<tr class=\"server\" data-server=\"{Regex.Escape(server)}\">.*?</tr>", RegexOptions.Singleline);
        match.Success.ShouldBeTrue($"no row for server '{server}' in:\n{html}");
        return match.Value;
    }

    [GeneratedRegex("<input type=\"radio\" name=\"profile\" value=\"([^\"]*)\"")]
    private static partial Regex ProfileRadio();
}
