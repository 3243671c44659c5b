using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Hub.Auth;
using Shouldly;
using Xunit;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// The authenticating proxy at /user/&lt;name&gt;/: who gets through and how, routing to named servers, the
/// stopped-server answers, and activity. The servers are python's http.server, which serves the user's home: a
/// file written there comes back through the proxy, proving the request reached that server.
/// </summary>
public sealed class UserProxyTests(ServersFixture fixture) : IClassFixture<ServersFixture>
{
    private const string Password = "proxy test password";

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Owner_ReachesTheServer_ByTokenHeaderQueryTokenOrLoginCookie()
    {
        var (name, token) = await StartedAsync("own");
        var path = await MarkerAsync(name, "");

        using var byHeader = Server.Client(token);
        (await byHeader.GetStringAsync(path)).ShouldBe("marker");
        using var anonymous = Server.Client();
        (await anonymous.GetStringAsync($"{path}?token={token}")).ShouldBe("marker");
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        (await browser.GetStringAsync(path)).ShouldBe("marker");
    }

    [Fact]
    public async Task Anonymous_BrowserGoesToLogin_ApiGets403()
    {
        var (name, _) = await StartedAsync("anon");
        using var anonymous = Server.Client();

        var page = await anonymous.GetAsync($"user/{name}/tree");
        page.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        page.Headers.Location!.ToString().ShouldBe($"/hub/login?next={Uri.EscapeDataString($"/user/{name}/tree")}");

        var api = await anonymous.GetAsync($"user/{name}/api/status");
        api.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var badToken = await anonymous.GetAsync($"user/{name}/api/status?token=not-a-token");
        badToken.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnotherUser_Gets403_AnAdminGetsThrough()
    {
        var (name, _) = await StartedAsync("mine");
        var path = await MarkerAsync(name, "");
        var (_, otherToken) = await Server.CreateUserAsync("other");

        using var other = Server.Client(otherToken);
        (await other.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var admin = Server.AdminClient();
        (await admin.GetStringAsync(path)).ShouldBe("marker");
    }

    [Fact]
    public async Task NamedServer_GetsItsOwnPrefix_AndTheDefaultServerTheRest()
    {
        var (name, token) = await StartedAsync("named");
        using var client = Server.Client(token);
        (await client.PostAsJsonAsync($"hub/api/users/{name}/servers/gpu", new { profile = "tiny" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        // Both servers serve the same home, so what tells them apart is the prefix each one answers under:
        // http.server maps the full path into the home, so /user/<name>/gpu/x is the file user/<name>/gpu/x there.
        var home = Path.Combine(Server.DataDir, "homes", name);
        Directory.CreateDirectory(Path.Combine(home, "user", name, "gpu"));
        await File.WriteAllTextAsync(Path.Combine(home, "user", name, "gpu", "which"), "named");
        Directory.CreateDirectory(Path.Combine(home, "user", name, "other"));
        await File.WriteAllTextAsync(Path.Combine(home, "user", name, "other", "which"), "default");

        (await client.GetStringAsync($"user/{name}/gpu/which")).ShouldBe("named");
        (await client.GetStringAsync($"user/{name}/other/which")).ShouldBe("default");
        var routes = Server.Service<Orrery.Servers.Spawning.ServerRoutes>();
        routes.TryGet(name, "gpu", out var gpu).ShouldBeTrue();
        routes.TryGet(name, "", out var standard).ShouldBeTrue();
        gpu.Address.ShouldNotBe(standard.Address);
    }

    [Fact]
    public async Task StoppedServer_Answers424_JsonForApiAndALaunchPageForBrowsers()
    {
        var (name, token) = await StartedAsync("stopped");
        using var client = Server.Client(token);
        (await client.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var api = await client.GetAsync($"user/{name}/api/status");
        api.StatusCode.ShouldBe(HttpStatusCode.FailedDependency);
        var message = (await api.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString();
        message.ShouldBe($"JupyterHub server no longer running at /user/{name}/api/status. Restart the server at {Server.BaseAddress}hub/spawn/{name}");

        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        var page = await client.GetAsync($"user/{name}/tree");
        page.StatusCode.ShouldBe(HttpStatusCode.FailedDependency);
        (await page.Content.ReadAsStringAsync()).ShouldContain($"/hub/spawn/{name}");
    }

    [Fact]
    public async Task ProxiedRequests_CountAsTheServersActivity()
    {
        var (name, token) = await StartedAsync("active");
        var path = await MarkerAsync(name, "");
        long serverId;
        await using (var scope = Server.Services.CreateAsyncScopeHelper())
            serverId = await scope.Db().Servers.Where(s => s.User!.Name == name).Select(s => s.Id).SingleAsync();
        var activity = Server.Service<ActivityTracker>();
        var before = activity.ServerLastActivity(serverId, null);

        await Task.Delay(50);
        using var client = Server.Client(token);
        (await client.GetStringAsync(path)).ShouldBe("marker");

        activity.ServerLastActivity(serverId, null).ShouldNotBeNull().ShouldBeGreaterThan(before ?? DateTime.MinValue);
    }

    /// <summary>A user with a password and a running default server (the tiny profile).</summary>
    private async Task<(string Name, string Token)> StartedAsync(string prefix)
    {
        var (name, token) = await Server.CreateUserAsync(prefix, password: Password);
        using var client = Server.Client(token);
        var started = await client.PostAsync($"hub/api/users/{name}/server", null);
        started.StatusCode.ShouldBe(HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        return (name, token);
    }

    /// <summary>Writes a file the server serves at the returned path (http.server maps the URL path into the home).</summary>
    private async Task<string> MarkerAsync(string user, string server)
    {
        var prefix = server.Length == 0 ? $"user/{user}" : $"user/{user}/{server}";
        var dir = Path.Combine(Server.DataDir, "homes", user, prefix);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "marker.txt"), "marker");
        return prefix + "/marker.txt";
    }
}
