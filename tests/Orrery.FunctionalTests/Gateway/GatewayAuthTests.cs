using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>dask-gateway authentication (protocol §4): the bare first request, the 401 challenge, credentials, the cookie.</summary>
public partial class GatewayAuthTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private OrreryTestServer Server => fixture.Server;

    public static TheoryData<string, string> UserRoutes => new()
    {
        { "GET", "api/v1/options" },
        { "GET", "api/v1/clusters/" },
        { "POST", "api/v1/clusters/" },
        { "GET", "api/v1/clusters/0123456789abcdef0123456789abcdef" },
        { "GET", "api/v1/clusters/0123456789abcdef0123456789abcdef?wait" },
        { "DELETE", "api/v1/clusters/0123456789abcdef0123456789abcdef" },
        { "POST", "api/v1/clusters/0123456789abcdef0123456789abcdef/scale" },
        { "POST", "api/v1/clusters/0123456789abcdef0123456789abcdef/adapt" },
    };

    [GeneratedRegex("^(dask-gateway-[0-9a-f]{32})=([^;]+); Max-Age=600; Path=/$")]
    private static partial Regex CookiePattern();

    [Theory]
    [InlineData("api/version", "version")]
    [InlineData("api/health", "status")]
    public async Task OpenRoute_NoAuth_200Json(string path, string key)
    {
        using var client = GatewayClient.Anonymous(Server);
        var response = await client.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = await response.JsonAsync();
        json.Keys().ShouldBe([key]);
        json.GetProperty(key).GetString().ShouldNotBeNullOrEmpty();
        if (key == "status")
            json.GetProperty("status").GetString().ShouldBe("pass");
    }

    [Theory]
    [MemberData(nameof(UserRoutes))]
    public async Task UserRoute_NoAuth_401Challenge(string method, string path)
    {
        using var client = GatewayClient.Anonymous(Server);
        var response = await client.SendAsync(Request(method, path));
        await ShouldBeChallengeAsync(response);
    }

    [Theory]
    [MemberData(nameof(UserRoutes))]
    public async Task UserRoute_NoAuthThenResendWithJupyterhubToken_NotChallenged(string method, string path)
    {
        var (_, token) = await Server.CreateUserAsync("resend");
        using var client = GatewayClient.Anonymous(Server);
        await ShouldBeChallengeAsync(await client.SendAsync(Request(method, path)));
        var resent = Request(method, path);
        resent.Headers.Authorization = new AuthenticationHeaderValue("jupyterhub", token);
        var response = await client.SendAsync(resent);
        ((int)response.StatusCode).ShouldNotBe(401);
        ((int)response.StatusCode).ShouldBeLessThan(500);
    }

    [Fact]
    public async Task JupyterhubToken_200_SetsCookieThatWorksAlone()
    {
        var (_, token) = await Server.CreateUserAsync("cookie");
        using var client = GatewayClient.Anonymous(Server);
        await ShouldBeChallengeAsync(await client.GetAsync("api/v1/options"));

        var withToken = new HttpRequestMessage(HttpMethod.Get, "api/v1/options");
        withToken.Headers.Authorization = new AuthenticationHeaderValue("jupyterhub", token);
        var response = await client.SendAsync(withToken);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var setCookie = response.Headers.GetValues("Set-Cookie").ShouldHaveSingleItem();
        var match = CookiePattern().Match(setCookie);
        match.Success.ShouldBeTrue(setCookie);

        var withCookie = new HttpRequestMessage(HttpMethod.Get, "api/v1/clusters/");
        withCookie.Headers.Add("Cookie", $"{match.Groups[1].Value}={match.Groups[2].Value}");
        var cookieOnly = await client.SendAsync(withCookie);
        cookieOnly.StatusCode.ShouldBe(HttpStatusCode.OK);
        cookieOnly.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        (await cookieOnly.Content.ReadAsStringAsync()).ShouldBe("{}");
        // Authenticated by the cookie, so no new cookie.
        cookieOnly.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Fact]
    public async Task Cookie_UnknownValue_401()
    {
        var (_, token) = await Server.CreateUserAsync("stale");
        using var client = GatewayClient.Anonymous(Server);
        var withToken = new HttpRequestMessage(HttpMethod.Get, "api/v1/options");
        withToken.Headers.Authorization = new AuthenticationHeaderValue("jupyterhub", token);
        var cookieName = CookiePattern().Match((await client.SendAsync(withToken)).Headers.GetValues("Set-Cookie").Single()).Groups[1].Value;

        var forged = new HttpRequestMessage(HttpMethod.Get, "api/v1/options");
        forged.Headers.Add("Cookie", $"{cookieName}={new string('0', 32)}");
        await ShouldBeChallengeAsync(await client.SendAsync(forged));
    }

    [Fact]
    public async Task Basic_UserAndPassword_200WithCookie()
    {
        var (name, _) = await Server.CreateUserAsync("basic", password: "correct horse battery");
        var response = await GetOptionsAsync(Basic(name, "correct horse battery"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        CookiePattern().IsMatch(response.Headers.GetValues("Set-Cookie").Single()).ShouldBeTrue();
    }

    [Fact]
    public async Task Basic_UserAndOwnToken_200()
    {
        var (name, token) = await Server.CreateUserAsync("basictok");
        (await GetOptionsAsync(Basic(name, token))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Basic_WrongPassword_401()
    {
        var (name, _) = await Server.CreateUserAsync("wrongpw", password: "correct horse battery");
        await ShouldBeChallengeAsync(await GetOptionsAsync(Basic(name, "incorrect horse")));
        await ShouldBeChallengeAsync(await GetOptionsAsync(Basic(name, "")));
    }

    [Fact]
    public async Task Basic_UserWithSomeoneElsesToken_401()
    {
        var (name, _) = await Server.CreateUserAsync("impostor");
        var (_, otherToken) = await Server.CreateUserAsync("victim");
        await ShouldBeChallengeAsync(await GetOptionsAsync(Basic(name, otherToken)));
    }

    [Fact]
    public async Task Token_WithoutAccessServicesScope_401()
    {
        var (name, token) = await Server.CreateUserAsync("narrow");
        using var hub = Server.Client(token);
        var created = await hub.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { scopes = new[] { "read:users:name!user" } });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var narrow = (await created.JsonAsync()).GetProperty("token").GetString()!;
        await ShouldBeChallengeAsync(await GetOptionsAsync(new AuthenticationHeaderValue("jupyterhub", narrow)));
        await ShouldBeChallengeAsync(await GetOptionsAsync(Basic(name, narrow)));
    }

    [Fact]
    public async Task Token_ScopedToThisService_200()
    {
        var (name, token) = await Server.CreateUserAsync("scoped");
        using var hub = Server.Client(token);
        var created = await hub.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { scopes = new[] { "access:services!service=dask-gateway" } });
        var scoped = (await created.JsonAsync()).GetProperty("token").GetString()!;
        (await GetOptionsAsync(new AuthenticationHeaderValue("jupyterhub", scoped))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("Basic", null)]
    [InlineData("Basic", "not-base64!")]
    [InlineData("Basic", "bm9jb2xvbg==")] // "nocolon"
    [InlineData("jupyterhub", null)]
    [InlineData("jupyterhub", "no-such-token")]
    [InlineData("Negotiate", "YWJj")]
    public async Task MalformedOrUnknownCredentials_401Not500(string scheme, string? parameter)
    {
        await ShouldBeChallengeAsync(await GetOptionsAsync(new AuthenticationHeaderValue(scheme, parameter)));
    }

    [Fact]
    public async Task FailedHandler_422_SetsNoCookie()
    {
        var (_, token) = await Server.CreateUserAsync("badopts");
        using var gateway = new GatewayClient(Server, token);
        var response = await gateway.PostJsonAsync("api/v1/clusters/", """{"cluster_options": {"nope": 1}}""");
        ((int)response.StatusCode).ShouldBe(422);
        response.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    private async Task<HttpResponseMessage> GetOptionsAsync(AuthenticationHeaderValue authorization)
    {
        using var client = GatewayClient.Anonymous(Server);
        var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/options");
        request.Headers.Authorization = authorization;
        return await client.SendAsync(request);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.Latin1.GetBytes($"{user}:{password}")));

    private static HttpRequestMessage Request(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        // Bodies that no handler acts on: an unknown option (422, so no cluster starts), an unknown cluster (404).
        if (method == "POST")
            request.Content = GatewayClient.JsonBody(path.EndsWith("/scale", StringComparison.Ordinal) ? """{"count": 1}"""
                : path.EndsWith("/adapt", StringComparison.Ordinal) ? "{}" : """{"cluster_options": {"nope": 1}}""");
        return request;
    }

    private static async Task ShouldBeChallengeAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ShouldNotBeEmpty();
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"error":"Authentication required"}""");
        response.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }
}
