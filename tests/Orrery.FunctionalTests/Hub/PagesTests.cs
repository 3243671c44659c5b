using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

/// <summary>
/// The hub's HTML pages driven like a browser: a cookie-keeping client that does not follow redirects, against the
/// real server. Login (antiforgery, wrong password, open-redirect guard, rate limit), home, the token page (create,
/// show once, list, revoke, scopes), logout, and the cookie rules for API calls.
/// </summary>
public partial class PagesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Password = "correct-horse-battery";
    private const string LoginCookie = "orrery-login";

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Login_Get_ShowsFormWithAntiforgeryField()
    {
        using var browser = Browser.New(Server);

        var response = await browser.GetAsync("hub/login?next=%2Fhub%2Ftoken");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<form method=\"post\">");
        (await browser.FormTokenAsync("hub/login")).Value.ShouldNotBeNullOrWhiteSpace();
        html.ShouldContain("<input type=\"hidden\" name=\"next\" value=\"/hub/token\">");
        html.ShouldContain("name=\"username\"");
        html.ShouldContain("name=\"password\" type=\"password\"");
    }

    [Fact]
    public async Task Login_PostWithoutAntiforgeryToken_Returns400AndNoLogin()
    {
        var (name, _) = await Server.CreateUserAsync("noxsrf", password: Password);
        using var browser = Browser.New(Server, out var cookies);
        await browser.GetStringAsync("hub/login"); // the antiforgery cookie is there, the form field is not

        var response = await browser.PostAsync("hub/login", Browser.Form(("username", name), ("password", Password)));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        HasLoginCookie(cookies).ShouldBeFalse();
    }

    [Fact]
    public async Task Login_WrongPassword_Returns403WithoutLoginCookie()
    {
        var (name, _) = await Server.CreateUserAsync("wrongpw", password: Password);
        using var browser = Browser.New(Server, out var cookies);

        var response = await browser.PostFormAsync("hub/login", "hub/login", ("username", name), ("password", "not-the-password"));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("Invalid username or password.");
        response.Headers.TryGetValues("Set-Cookie", out var setCookies);
        (setCookies ?? []).ShouldNotContain(c => c.StartsWith(LoginCookie + "=", StringComparison.Ordinal));
        HasLoginCookie(cookies).ShouldBeFalse();
        (await browser.GetAsync("hub/home")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Login_CorrectPasswordWithLocalNext_RedirectsToNext()
    {
        var (name, _) = await Server.CreateUserAsync("nextok", password: Password);
        using var browser = Browser.New(Server, out var cookies);

        var response = await browser.PostFormAsync("hub/login", "hub/login",
            ("username", name), ("password", Password), ("next", "/hub/token?from=login"));

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe("/hub/token?from=login");
        HasLoginCookie(cookies).ShouldBeTrue();
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil")]
    [InlineData("//evil.example/hub/home")]
    [InlineData("/\\evil.example")]
    [InlineData("hub/token")]
    [InlineData("")]
    public async Task Login_NextNotALocalPath_RedirectsToHome(string next)
    {
        var (name, _) = await Server.CreateUserAsync("nextbad", password: Password);
        using var browser = Browser.New(Server);

        var response = await browser.PostFormAsync("hub/login", "hub/login", ("username", name), ("password", Password), ("next", next));

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe("/hub/home");
    }

    [Fact]
    public async Task Login_UsernameInAnyCase_LogsInAndHomeShowsName()
    {
        var (name, _) = await Server.CreateUserAsync("home", password: Password);
        using var browser = Browser.New(Server);
        (await browser.PostFormAsync("hub/login", "hub/login", ("username", " " + name.ToUpperInvariant()), ("password", Password)))
            .StatusCode.ShouldBe(HttpStatusCode.Redirect);

        var response = await browser.GetAsync("hub/home");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain($"Signed in as <strong>{name}</strong>");
        html.ShouldContain("href=\"/hub/token\"");
        html.ShouldContain("href=\"/hub/logout\"");
    }

    [Theory]
    [InlineData("hub/home", "/hub/login?next=%2Fhub%2Fhome")]
    [InlineData("hub/token", "/hub/login?next=%2Fhub%2Ftoken")]
    [InlineData("hub/token?x=1", "/hub/login?next=%2Fhub%2Ftoken%3Fx%3D1")]
    public async Task Pages_LoggedOut_RedirectToLoginWithNext(string page, string location)
    {
        using var browser = Browser.New(Server);

        var response = await browser.GetAsync(page);

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe(location);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("hub")]
    [InlineData("hub/")]
    public async Task Root_LoggedOut_RedirectsToHome(string page)
    {
        using var browser = Browser.New(Server);

        var response = await browser.GetAsync(page);

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe("/hub/home");
    }

    [Fact]
    public async Task TokenPage_CreateToken_ShowsSecretOnceAndItWorks()
    {
        var (name, _) = await Server.CreateUserAsync("page", password: Password);
        using var browser = await LoggedInAsync(name);

        var created = await browser.PostFormAsync("hub/token", "hub/token", ("note", "my laptop"), ("expires_in", "3600"), ("scopes", ""));

        created.StatusCode.ShouldBe(HttpStatusCode.OK);
        var secret = NewToken().Match(await created.Content.ReadAsStringAsync()).Groups[1].Value;
        secret.ShouldMatch("^[0-9a-f]{32,}$");
        using var api = Server.Client(secret);
        var whoami = await api.GetAsync("hub/api/user");
        whoami.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await whoami.JsonAsync()).GetProperty("name").GetString().ShouldBe(name);

        // Listed with note, id, last used, created and expiry (in about an hour); the secret is not shown again.
        var html = await browser.GetStringAsync("hub/token");
        html.ShouldNotContain("id=\"new-token\"");
        html.ShouldNotContain(secret);
        var row = Row(html, "my laptop");
        row.ShouldNotBeNull(html);
        row.Groups["note"].Value.ShouldBe("my laptop");
        row.Groups["id"].Value.ShouldMatch("^a[0-9]+$");
        foreach (var column in new[] { "used", "created", "expires" })
            row.Groups[column].Value.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", column);
        var expires = DateTime.Parse(row.Groups["expires"].Value, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal);
        (expires - DateTime.UtcNow).TotalMinutes.ShouldBeInRange(55, 61);
        html.ShouldContain("<th>Note</th><th>Id</th><th>Last used</th><th>Created</th><th>Expires at</th>");
    }

    [Fact]
    public async Task TokenPage_DefaultNoteAndNoExpiry_ListedAsNever()
    {
        var (name, _) = await Server.CreateUserAsync("never", password: Password);
        using var browser = await LoggedInAsync(name);

        (await browser.PostFormAsync("hub/token", "hub/token", ("note", ""), ("expires_in", ""))).StatusCode.ShouldBe(HttpStatusCode.OK);

        var row = Row(await browser.GetStringAsync("hub/token"), "Requested via token page");
        row.ShouldNotBeNull();
        row.Groups["note"].Value.ShouldBe("Requested via token page");
        row.Groups["used"].Value.ShouldBe("Never");
        row.Groups["expires"].Value.ShouldBe("Never");
    }

    [Fact]
    public async Task TokenPage_Revoke_TokenRejectedAtOnce()
    {
        var (name, _) = await Server.CreateUserAsync("revoke", password: Password);
        using var browser = await LoggedInAsync(name);
        var created = await browser.PostFormAsync("hub/token", "hub/token", ("note", "to revoke"), ("expires_in", "3600"));
        var secret = NewToken().Match(await created.Content.ReadAsStringAsync()).Groups[1].Value;
        using var api = Server.Client(secret);
        (await api.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK); // now cached as valid
        var id = Row(await browser.GetStringAsync("hub/token"), "to revoke")!.Groups["id"].Value;

        var revoked = await browser.PostFormAsync("hub/token", $"hub/token/{id}/revoke");

        revoked.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        revoked.Headers.Location!.OriginalString.ShouldBe("/hub/token");
        (await (await api.GetAsync("hub/api/user")).ShouldBeHubErrorAsync(403)).ShouldBe("Forbidden");
        Row(await browser.GetStringAsync("hub/token"), "to revoke").ShouldBeNull();
    }

    [Fact]
    public async Task TokenPage_RevokeWithoutAntiforgeryToken_Returns400AndKeepsToken()
    {
        var (name, _) = await Server.CreateUserAsync("csrf", password: Password);
        using var browser = await LoggedInAsync(name);
        var created = await browser.PostFormAsync("hub/token", "hub/token", ("note", "keep me"), ("expires_in", "3600"));
        var secret = NewToken().Match(await created.Content.ReadAsStringAsync()).Groups[1].Value;
        var id = Row(await browser.GetStringAsync("hub/token"), "keep me")!.Groups["id"].Value;

        // What a cross-site form could send: no body at all, or a form without the antiforgery field.
        var empty = await browser.PostAsync($"hub/token/{id}/revoke", null);
        var noField = await browser.PostAsync($"hub/token/{id}/revoke", Browser.Form(("x", "y")));
        var json = await browser.PostAsync($"hub/token/{id}/revoke", new StringContent("{}", Encoding.UTF8, "application/json"));

        empty.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        noField.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        ((int)json.StatusCode).ShouldBeInRange(400, 499);
        using var api = Server.Client(secret);
        (await api.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TokenPage_CreateWithoutAntiforgeryToken_Returns400()
    {
        var (name, _) = await Server.CreateUserAsync("csrf2", password: Password);
        using var browser = await LoggedInAsync(name);

        var response = await browser.PostAsync("hub/token", Browser.Form(("note", "sneaky"), ("expires_in", "")));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        Row(await browser.GetStringAsync("hub/token"), "sneaky").ShouldBeNull();
    }

    [Fact]
    public async Task TokenPage_ScopesNotHeld_Returns400WithMessage()
    {
        var (name, _) = await Server.CreateUserAsync("scopes", password: Password);
        using var browser = await LoggedInAsync(name);

        var response = await browser.PostFormAsync("hub/token", "hub/token", ("note", "too much"), ("expires_in", ""), ("scopes", "admin:users"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<p class=\"error\">Not assigning requested scopes ");
        html.ShouldContain("admin:users");
        html.ShouldContain($"not held by User {name}</p>");
        html.ShouldNotContain("id=\"new-token\"");
        Row(html, "too much").ShouldBeNull();
    }

    [Fact]
    public async Task TokenPage_ScopesHeld_TokenLimitedToThem()
    {
        var (name, _) = await Server.CreateUserAsync("narrow", password: Password);
        using var browser = await LoggedInAsync(name);

        var response = await browser.PostFormAsync("hub/token", "hub/token", ("note", "narrow"), ("expires_in", ""),
            ("scopes", "read:users:name!user access:services!service=kbatch"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var secret = NewToken().Match(await response.Content.ReadAsStringAsync()).Groups[1].Value;
        using var api = Server.Client(secret);
        (await (await api.GetAsync("hub/api/user")).JsonAsync()).GetProperty("scopes").Strings()
            .ShouldBe(["access:services!service=kbatch", $"read:users:name!user={name}"]);
    }

    [Theory]
    [InlineData("unknown:scope", "Unknown scopes: unknown:scope")]
    [InlineData("7200", null)]
    public async Task TokenPage_BadScopeOrExpiry_Returns400WithMessage(string value, string? message)
    {
        var (name, _) = await Server.CreateUserAsync("badform", password: Password);
        using var browser = await LoggedInAsync(name);
        var fields = message is null
            ? new[] { ("note", "x"), ("expires_in", value) }
            : new[] { ("note", "x"), ("expires_in", ""), ("scopes", value) };

        var response = await browser.PostFormAsync("hub/token", "hub/token", fields);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain($"<p class=\"error\">{message ?? "Choose one of the offered expiry times."}</p>");
    }

    [Fact]
    public async Task Logout_ClearsLogin()
    {
        var (name, _) = await Server.CreateUserAsync("logout", password: Password);
        using var browser = await LoggedInAsync(name);
        (await browser.GetAsync("hub/home")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var response = await browser.GetAsync("hub/logout");

        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe("/hub/login");
        var home = await browser.GetAsync("hub/home");
        home.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        home.Headers.Location!.OriginalString.ShouldBe("/hub/login?next=%2Fhub%2Fhome");
        (await browser.GetAsync("hub/token")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task ApiWithCookie_SameOriginReferer_Returns200()
    {
        var (name, _) = await Server.CreateUserAsync("cookie", password: Password);
        using var browser = await LoggedInAsync(name);

        var response = await SendAsync(browser, HttpMethod.Get, "hub/api/user", referer: SameOrigin("hub/token"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var model = await response.JsonAsync();
        model.GetProperty("name").GetString().ShouldBe(name);
        model.GetProperty("session_id").GetString().ShouldNotBeNullOrEmpty();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("http://evil.example/hub/token")]
    [InlineData("not a url")]
    public async Task ApiWithCookie_NoOrForeignReferer_Returns403(string? referer)
    {
        var (name, _) = await Server.CreateUserAsync("noref", password: Password);
        using var browser = await LoggedInAsync(name);

        var response = await SendAsync(browser, HttpMethod.Get, "hub/api/user", referer);

        (await response.ShouldBeHubErrorAsync(403)).ShouldBe("Forbidden");
    }

    [Fact]
    public async Task ApiWithCookie_PostTextPlain_Returns403ButJsonWorks()
    {
        var (name, _) = await Server.CreateUserAsync("ctype", password: Password);
        using var browser = await LoggedInAsync(name);

        // text/plain is what a cross-site form or a "simple" fetch can send without a preflight.
        var plain = await SendAsync(browser, HttpMethod.Post, $"hub/api/users/{name}/tokens", SameOrigin("hub/token"),
            new StringContent("{\"note\": \"plain\"}", Encoding.UTF8, "text/plain"));
        var json = await SendAsync(browser, HttpMethod.Post, $"hub/api/users/{name}/tokens", SameOrigin("hub/token"),
            new StringContent("{\"note\": \"json\"}", Encoding.UTF8, "application/json"));

        await plain.ShouldBeHubErrorAsync(403);
        json.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await json.JsonAsync()).GetProperty("note").GetString().ShouldBe("json");
    }

    [Fact]
    public async Task Login_MoreAttemptsThanAllowedPerMinute_Returns429()
    {
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?> { ["Orrery:Hub:LoginAttemptsPerMinute"] = "3" });
        using var browser = Browser.New(server);
        var statuses = new List<HttpStatusCode>();

        for (var attempt = 0; attempt < 4; attempt++)
            statuses.Add((await browser.PostFormAsync("hub/login", "hub/login", ("username", "nobody"), ("password", "wrong-password"))).StatusCode);

        statuses.ShouldBe([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.TooManyRequests]);
        // Only the login posts are limited; the page itself still shows.
        (await browser.GetAsync("hub/login")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    // ---- a browser -----------------------------------------------------------------------------------------

    private async Task<HttpClient> LoggedInAsync(string name)
    {
        var browser = Browser.New(Server);
        var response = await browser.PostFormAsync("hub/login", "hub/login", ("username", name), ("password", Password));
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        return browser;
    }

    private bool HasLoginCookie(CookieContainer cookies) => cookies.GetCookies(Server.BaseAddress).Any(c => c.Name == LoginCookie);

    private string SameOrigin(string path) => new Uri(Server.BaseAddress, path).ToString();

    private static async Task<HttpResponseMessage> SendAsync(HttpClient browser, HttpMethod method, string path, string? referer, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (referer is not null)
            request.Headers.TryAddWithoutValidation("Referer", referer);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await browser.SendAsync(request);
    }

    /// <summary>The token list's row for the token with this note (users made by the harness also have an API token).</summary>
    private static Match? Row(string html, string note) => TokenRow().Matches(html).FirstOrDefault(m => m.Groups["note"].Value == note);

    [GeneratedRegex("<p class=\"secret\" id=\"new-token\">([^<]*)</p>")]
    private static partial Regex NewToken();

    [GeneratedRegex(@"<tr><td>(?<note>[^<]*)</td><td>(?<id>[^<]*)</td><td>(?<used>[^<]*)</td>\s*<td>(?<created>[^<]*)</td><td>(?<expires>[^<]*)</td>")]
    private static partial Regex TokenRow();
}
