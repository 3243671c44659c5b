using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// The OAuth2 authorization-code flow personal servers log browsers in with (protocol notes §0.5, §2.5), driven as
/// jupyterhub-singleuser drives it: the browser is sent to authorize, the server exchanges the code with its own token
/// as client secret and checks the access token with whoami. The servers are tiny HTTP servers that write their
/// environment to the user's home first, which is how the tests learn each run's token, client id and callback.
/// </summary>
public partial class OAuthTests(OAuthFixture fixture) : IClassFixture<OAuthFixture>
{
    private const string Password = "oauth-test-password";

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task FullFlow_LoginAuthorizeExchange_AccessTokenPassesSingleusersCheck()
    {
        var (name, _) = await Server.CreateUserAsync("flow", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        run.ClientId.ShouldBe($"jupyterhub-user-{name}");
        run.CallbackUrl.ShouldBe($"/user/{name}/oauth_callback");
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        // Base64url of singleuser's state JSON, plus characters that must survive being passed through.
        const string state = "eyJ1dWlkIjogIjdmMWMifQ_-.~ +/=?&%#é";
        var authorized = await browser.GetAsync(OAuthServers.AuthorizeUrl(run, state));
        authorized.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var location = authorized.Headers.Location!.OriginalString;
        location.ShouldStartWith($"/user/{name}/oauth_callback?code=");
        location.ShouldEndWith("&state=" + Uri.EscapeDataString(state));   // encoded exactly once
        var query = HttpUtility.ParseQueryString(location[(location.IndexOf('?', StringComparison.Ordinal) + 1)..]);
        query.AllKeys.ShouldBe(["code", "state"]);
        query["state"].ShouldBe(state);
        var code = query["code"]!;
        code.ShouldMatch("^[A-Za-z0-9]{30}$");

        var exchanged = await OAuthServers.ExchangeAsync(Server, run, code);
        exchanged.StatusCode.ShouldBe(HttpStatusCode.OK);
        exchanged.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        exchanged.Headers.CacheControl?.NoStore.ShouldBeTrue();
        exchanged.Headers.Pragma.ToString().ShouldBe("no-cache");
        var body = await exchanged.JsonAsync();
        body.Keys().ShouldBe(["access_token", "expires_in", "token_type", "scope"], ignoreOrder: true);
        body.GetProperty("expires_in").GetInt64().ShouldBe(1_209_600);
        body.GetProperty("token_type").GetString().ShouldBe("Bearer");
        body.GetProperty("scope").GetString()!.Split(' ').ShouldBe(
            [$"access:servers!server={name}/", $"read:users:name!user={name}", $"read:users:groups!user={name}"], ignoreOrder: true);
        var accessToken = body.GetProperty("access_token").GetString()!;

        // What singleuser does with it (§2.4): whoami, then intersect the scopes with its access scopes.
        using var whoami = await WhoAmIAsync(accessToken);
        whoami.StatusCode.ShouldBe(HttpStatusCode.OK);
        var model = await whoami.JsonAsync();
        model.Keys().ShouldBe(["kind", "name", "admin", "groups", "session_id", "scopes"], ignoreOrder: true);
        model.GetProperty("name").GetString().ShouldBe(name);
        model.GetProperty("scopes").Strings().ShouldBe(
            [$"access:servers!server={name}/", $"read:users:groups!user={name}", $"read:users:name!user={name}"]);
        model.GetProperty("scopes").Strings().Intersect(run.AccessScopes).ShouldNotBeEmpty();
        var session = model.GetProperty("session_id").GetString();
        session.ShouldNotBeNullOrEmpty();

        // The session is the browser login's: the same for a second authorization, another for another login.
        (await SessionOfNewTokenAsync(browser, run)).ShouldBe(session);
        using var otherBrowser = await Browser.LoggedInAsync(Server, name, Password);
        (await SessionOfNewTokenAsync(otherBrowser, run)).ShouldNotBe(session);
    }

    [Fact]
    public async Task Authorize_NotLoggedIn_RedirectsToLoginWithNext_LoginReturnsThere()
    {
        using var browser = Browser.New(Server);
        var url = "hub/api/oauth2/authorize?client_id=jupyterhub-user-someone&redirect_uri=%2Fuser%2Fsomeone%2Foauth_callback"
                  + "&response_type=code&state=abc%2B123";

        var response = await browser.GetAsync(url);

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var next = "/" + url;
        response.Headers.Location!.OriginalString.ShouldBe("/hub/login?next=" + Uri.EscapeDataString(next));
        var (name, _) = await Server.CreateUserAsync("next", password: Password);
        var login = await browser.PostFormAsync("hub/login?next=" + Uri.EscapeDataString(next), "hub/login",
            ("username", name), ("password", Password), ("next", next));
        login.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        login.Headers.Location!.OriginalString.ShouldBe(next);
    }

    [Fact]
    public async Task Authorize_UnknownClientWrongRedirectOrResponseType_400Page()
    {
        var (name, _) = await Server.CreateUserAsync("bad", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run with { ClientId = "jupyterhub-user-nobody-at-all" }), 400, "client_id");
        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run with { ClientId = run.ClientId + "-named" }), 400, "client_id");
        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run with { ClientId = "" }), 400, "client_id");
        foreach (var redirect in new[] { $"/user/{name}/oauth_callback/", $"http://evil.example/user/{name}/oauth_callback",
                     $"/user/{name}/oauth_callback?x=1", $"/user/{name}/other", "" })
            await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run with { CallbackUrl = redirect }), 400, "redirect URI");
        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run, responseType: "token"), 400, "response_type");
        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run) + "&client_id=" + run.ClientId, 400, "Duplicate client_id");
        // Still fine when asked properly.
        (await browser.GetAsync(OAuthServers.AuthorizeUrl(run))).StatusCode.ShouldBe(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Authorize_AnotherUsersServer_403_AdminAllowed()
    {
        var (owner, _) = await Server.CreateUserAsync("owner", password: Password);
        var (other, _) = await Server.CreateUserAsync("other", password: Password);
        var (admin, _) = await Server.CreateUserAsync("boss", admin: true, password: Password);
        var run = await OAuthServers.StartAsync(Server, owner);

        using var otherBrowser = await Browser.LoggedInAsync(Server, other, Password);
        await ShouldBeErrorPageAsync(otherBrowser, OAuthServers.AuthorizeUrl(run), 403,
            $"You do not have permission to access Server at /user/{owner}/");

        using var adminBrowser = await Browser.LoggedInAsync(Server, admin, Password);
        var code = await OAuthServers.AuthorizeAsync(adminBrowser, run);
        var accessToken = await OAuthServers.AccessTokenAsync(Server, run, code);
        var model = await (await WhoAmIAsync(accessToken)).JsonAsync();
        model.GetProperty("name").GetString().ShouldBe(admin);
        model.GetProperty("scopes").Strings().ShouldContain($"access:servers!server={owner}/");
    }

    [Fact]
    public async Task Token_CodeUsedOnce_BadCodesAndRedirects_InvalidGrant()
    {
        var (name, _) = await Server.CreateUserAsync("once", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var code = await OAuthServers.AuthorizeAsync(browser, run);
        (await OAuthServers.ExchangeAsync(Server, run, code)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code), 400, "invalid_grant");

        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, new string('A', 30)), 400, "invalid_grant");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, "short"), 400, "invalid_grant");
        // A redirect_uri other than the authorization's is refused, and that attempt used the code up.
        code = await OAuthServers.AuthorizeAsync(browser, run);
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code, redirectUri: run.CallbackUrl + "x"), 400, "invalid_grant");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code), 400, "invalid_grant");

        code = await OAuthServers.AuthorizeAsync(browser, run);
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code, grantType: "client_credentials"), 400, "unsupported_grant_type");
        (await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code, grantType: ""), 400, "invalid_request"))
            .ShouldContain("grant_type");
        (await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, ""), 400, "invalid_request")).ShouldContain("code");
        (await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, code, redirectUri: ""), 400, "invalid_request"))
            .ShouldContain("redirect_uri");
        using var client = Server.Client();
        var json = await client.PostAsJsonAsync("hub/api/oauth2/token", new { client_id = run.ClientId, client_secret = run.Token, code });
        await ShouldBeOAuthErrorAsync(json, 400, "invalid_request");
        // None of these used the code: it still works once.
        (await OAuthServers.ExchangeAsync(Server, run, code)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_WrongSecretOrUnknownClient_401InvalidClient_CodeNotUsedUp()
    {
        var (name, _) = await Server.CreateUserAsync("secret", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        var (stranger, strangerToken) = await Server.CreateUserAsync("stranger");
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        var code = await OAuthServers.AuthorizeAsync(browser, run);

        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run with { Token = strangerToken }, code), 401, "invalid_client");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run with { Token = run.Token + "0" }, code), 401, "invalid_client");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run with { Token = "" }, code), 401, "invalid_client");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run with { ClientId = $"jupyterhub-user-{stranger}" }, code), 401, "invalid_client");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run with { ClientId = "" }, code), 401, "invalid_client");

        // HTTP Basic client authentication (RFC 6749 §2.3.1) is accepted too.
        using var basic = Server.Client();
        basic.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{run.ClientId}:{run.Token}")));
        var response = await basic.PostAsync("hub/api/oauth2/token", Browser.Form(
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", run.CallbackUrl)));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_CodeForAnotherServer_InvalidGrant()
    {
        var (name, _) = await Server.CreateUserAsync("two", password: Password);
        var first = await OAuthServers.StartAsync(Server, name);
        var second = await OAuthServers.StartAsync(Server, name, "second");
        second.ClientId.ShouldBe($"jupyterhub-user-{name}-second");
        second.CallbackUrl.ShouldBe($"/user/{name}/second/oauth_callback");
        using var browser = await Browser.LoggedInAsync(Server, name, Password);

        var code = await OAuthServers.AuthorizeAsync(browser, first);
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, second, code, redirectUri: first.CallbackUrl), 400, "invalid_grant");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, second, code), 400, "invalid_grant");

        // The named server's own flow works, and its token opens only that server.
        var accessToken = await OAuthServers.AccessTokenAsync(Server, second, await OAuthServers.AuthorizeAsync(browser, second));
        var scopes = (await (await WhoAmIAsync(accessToken)).JsonAsync()).GetProperty("scopes").Strings();
        scopes.ShouldContain($"access:servers!server={name}/second");
        scopes.ShouldNotContain($"access:servers!server={name}/");
        scopes.Intersect(first.AccessScopes).ShouldBeEmpty();
    }

    [Fact]
    public async Task Token_ExpiredCode_InvalidGrant()
    {
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?>(OAuthServers.Settings)
        {
            ["Orrery:Servers:OAuth:CodeLifetime"] = "00:00:01",
        });
        var (name, _) = await server.CreateUserAsync("late", password: Password);
        var run = await OAuthServers.StartAsync(server, name);
        using var browser = await Browser.LoggedInAsync(server, name, Password);
        var code = await OAuthServers.AuthorizeAsync(browser, run);

        await Task.Delay(TimeSpan.FromSeconds(1.5));

        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(server, run, code), 400, "invalid_grant");
    }

    [Fact]
    public async Task ServerStopped_AccessTokenRejected_ClientGone()
    {
        var (name, userToken) = await Server.CreateUserAsync("stop", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        using var browser = await Browser.LoggedInAsync(Server, name, Password);
        var accessToken = await OAuthServers.AccessTokenAsync(Server, run, await OAuthServers.AuthorizeAsync(browser, run));
        var pendingCode = await OAuthServers.AuthorizeAsync(browser, run);
        (await WhoAmIAsync(accessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var client = Server.Client(userToken);
        (await client.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await WhoAmIAsync(accessToken)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await WhoAmIAsync(run.Token)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        await ShouldBeErrorPageAsync(browser, OAuthServers.AuthorizeUrl(run), 400, "client_id");
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, run, pendingCode), 401, "invalid_client");

        // A new run is a new client secret: the old run's code is no good with it.
        var next = await OAuthServers.StartAsync(Server, name);
        next.Token.ShouldNotBe(run.Token);
        await ShouldBeOAuthErrorAsync(await OAuthServers.ExchangeAsync(Server, next, pendingCode), 400, "invalid_grant");
        (await client.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task HubLogout_DeletesThatLoginsOAuthTokensOnly()
    {
        var (name, userToken) = await Server.CreateUserAsync("logout", password: Password);
        var run = await OAuthServers.StartAsync(Server, name);
        using var leaving = await Browser.LoggedInAsync(Server, name, Password);
        using var staying = await Browser.LoggedInAsync(Server, name, Password);
        var leavingToken = await OAuthServers.AccessTokenAsync(Server, run, await OAuthServers.AuthorizeAsync(leaving, run));
        var stayingToken = await OAuthServers.AccessTokenAsync(Server, run, await OAuthServers.AuthorizeAsync(staying, run));

        var logout = await leaving.GetAsync("hub/logout");
        logout.StatusCode.ShouldBe(HttpStatusCode.Redirect);

        (await WhoAmIAsync(leavingToken)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await WhoAmIAsync(stayingToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await WhoAmIAsync(userToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await WhoAmIAsync(run.Token)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Logged out, the browser is sent to log in again.
        (await leaving.GetAsync(OAuthServers.AuthorizeUrl(run))).Headers.Location!.OriginalString.ShouldStartWith("/hub/login?next=");
    }

    private async Task<HttpResponseMessage> WhoAmIAsync(string token)
    {
        using var client = Server.Client(token);
        return await client.GetAsync("hub/api/user");
    }

    private async Task<string?> SessionOfNewTokenAsync(HttpClient browser, OAuthServers.Run run)
    {
        var token = await OAuthServers.AccessTokenAsync(Server, run, await OAuthServers.AuthorizeAsync(browser, run));
        return (await (await WhoAmIAsync(token)).JsonAsync()).GetProperty("session_id").GetString();
    }

    private static async Task ShouldBeErrorPageAsync(HttpClient browser, string url, int status, string text)
    {
        var response = await browser.GetAsync(url);
        ((int)response.StatusCode).ShouldBe(status, url);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("text/html");
        WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()).ShouldContain(text);
    }

    /// <summary>Asserts an OAuth error body (RFC 6749 §5.2), not the hub's; returns the description, if any.</summary>
    private static async Task<string> ShouldBeOAuthErrorAsync(HttpResponseMessage response, int status, string error)
    {
        ((int)response.StatusCode).ShouldBe(status);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = await response.JsonAsync();
        json.GetProperty("error").GetString().ShouldBe(error);
        if (error == "invalid_request")
        {
            json.Keys().ShouldBe(["error", "error_description"]);
            return json.GetProperty("error_description").GetString()!;
        }
        json.Keys().ShouldBe(["error"]);
        return "";
    }
}

/// <summary>One Orrery for the class, with a profile that runs a tiny HTTP server in place of singleuser.</summary>
public sealed class OAuthFixture : IAsyncLifetime
{
    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync() => _server = await OrreryTestServer.StartAsync(OAuthServers.Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>Starting tiny servers, reading what a run was given, and the two halves of the flow.</summary>
public static partial class OAuthServers
{
    /// <summary>A server run as its OAuth client sees itself: the values singleuser reads from its environment.</summary>
    public sealed record Run(string ClientId, string CallbackUrl, string Token, string[] AccessScopes);

    /// <summary>
    /// The "tiny" profile: writes its environment to <c>$HOME/env-&lt;server&gt;.txt</c>, then serves HTTP on the port of
    /// <c>JUPYTERHUB_SERVICE_URL</c> (its 404s count as ready).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Orrery:Servers:Profiles:0:Slug"] = "tiny",
        ["Orrery:Servers:Profiles:0:DisplayName"] = "Tiny",
        ["Orrery:Servers:Profiles:0:Command:0"] = "/bin/sh",
        ["Orrery:Servers:Profiles:0:Command:1"] = "-c",
        ["Orrery:Servers:Profiles:0:Command:2"] =
            "f=\"$HOME/env-$JUPYTERHUB_SERVER_NAME.txt\"; env > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"; "
            + "p=${JUPYTERHUB_SERVICE_URL#http://127.0.0.1:}; exec /usr/bin/python3 -m http.server --bind 127.0.0.1 ${p%%/*}",
    };

    /// <summary>Starts the user's server (the default one, or <paramref name="server"/>) and reads what the run was given.</summary>
    public static async Task<Run> StartAsync(OrreryTestServer orrery, string user, string server = "")
    {
        var envFile = Path.Combine(orrery.DataDir, "homes", user, $"env-{server}.txt");
        if (File.Exists(envFile))
            File.Delete(envFile);
        using var admin = orrery.AdminClient();
        var path = server.Length == 0 ? $"hub/api/users/{user}/server" : $"hub/api/users/{user}/servers/{server}";
        var started = await admin.PostAsJsonAsync(path, new { profile = "tiny" });
        started.StatusCode.ShouldBeOneOf(HttpStatusCode.Created, HttpStatusCode.Accepted);
        await Eventually.TrueAsync(async () =>
        {
            var model = await (await admin.GetAsync($"hub/api/users/{user}")).JsonAsync();
            return model.GetProperty("servers").TryGetProperty(server, out var s) && s.GetProperty("ready").GetBoolean();
        });
        var env = (await File.ReadAllLinesAsync(envFile))
            .Select(line => line.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        return new Run(env["JUPYTERHUB_CLIENT_ID"], env["JUPYTERHUB_OAUTH_CALLBACK_URL"], env["JUPYTERHUB_API_TOKEN"],
            JsonSerializer.Deserialize<string[]>(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])!);
    }

    /// <summary>The URL singleuser sends a browser to (§2.5 step 2), relative to the hub's base address.</summary>
    public static string AuthorizeUrl(Run run, string state = "s", string responseType = "code") =>
        $"hub/api/oauth2/authorize?client_id={Uri.EscapeDataString(run.ClientId)}&redirect_uri={Uri.EscapeDataString(run.CallbackUrl)}"
        + $"&response_type={responseType}&state={Uri.EscapeDataString(state)}";

    /// <summary>Authorizes as the logged-in <paramref name="browser"/> and returns the code from the redirect.</summary>
    public static async Task<string> AuthorizeAsync(HttpClient browser, Run run)
    {
        var response = await browser.GetAsync(AuthorizeUrl(run));
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
        var match = CodeInLocation().Match(response.Headers.Location!.OriginalString);
        match.Success.ShouldBeTrue(response.Headers.Location.OriginalString);
        return match.Groups[1].Value;
    }

    /// <summary>The server-to-hub exchange exactly as singleuser sends it (§2.5 step 4a).</summary>
    public static async Task<HttpResponseMessage> ExchangeAsync(OrreryTestServer orrery, Run run, string code,
        string? redirectUri = null, string grantType = "authorization_code")
    {
        using var client = orrery.Client(run.Token.Length > 0 ? run.Token : null);
        return await client.PostAsync("hub/api/oauth2/token", Browser.Form(
            ("client_id", run.ClientId), ("client_secret", run.Token), ("grant_type", grantType), ("code", code),
            ("redirect_uri", redirectUri ?? run.CallbackUrl)));
    }

    public static async Task<string> AccessTokenAsync(OrreryTestServer orrery, Run run, string code)
    {
        var response = await ExchangeAsync(orrery, run, code);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync()).GetProperty("access_token").GetString()!;
    }

    [GeneratedRegex("^/user/[^?]+/oauth_callback\\?code=([A-Za-z0-9]{30})&state=")]
    private static partial Regex CodeInLocation();
}
