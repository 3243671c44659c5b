using System.Net;
using System.Net.Http.Headers;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

public class WhoAmITests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Version_NoAuth_AnswersWithVersionHeader()
    {
        using var client = Server.Client();
        foreach (var path in new[] { "hub/api", "hub/api/" })
        {
            var response = await client.GetAsync(path);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Headers.GetValues("X-JupyterHub-Version").ShouldBe(["3.0.0"]);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
            (await response.JsonAsync()).GetProperty("version").GetString().ShouldBe("3.0.0");
        }
    }

    [Theory]
    [InlineData("token")]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("TOKEN")]
    public async Task WhoAmI_AnyHeaderScheme_ReturnsUserModel(string scheme)
    {
        var (name, token) = await Server.CreateUserAsync("who");
        using var client = Server.Client();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        var response = await client.GetAsync("hub/api/user");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var model = await response.JsonAsync();
        model.Keys().ShouldBe(["kind", "name", "admin", "roles", "groups", "server", "pending", "created", "last_activity", "servers", "session_id", "scopes"]);
        model.GetProperty("name").GetString().ShouldBe(name);
        model.GetProperty("kind").GetString().ShouldBe("user");
        model.GetProperty("admin").GetBoolean().ShouldBeFalse();
        model.GetProperty("last_activity").GetString()!.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$");
        response.Headers.GetValues("X-JupyterHub-Version").ShouldBe(["3.0.0"]);
    }

    [Fact]
    public async Task WhoAmI_UserToken_ScopesAreSelfExpandedPlusServices()
    {
        var (name, token) = await Server.CreateUserAsync("scopes");
        using var client = Server.Client(token);
        var scopes = (await (await client.GetAsync("hub/api/user")).JsonAsync()).GetProperty("scopes").Strings();
        string[] expected =
        [
            $"access:servers!user={name}", "access:services!service=dask-gateway", "access:services!service=kbatch",
            "access:services!service=environments",
            $"delete:servers!user={name}", $"read:servers!user={name}", $"read:tokens!user={name}", $"read:users!user={name}",
            $"read:users:activity!user={name}", $"read:users:groups!user={name}", $"read:users:name!user={name}",
            $"servers!user={name}", $"tokens!user={name}", $"users:activity!user={name}",
        ];
        scopes.ShouldBe(expected.Order(StringComparer.Ordinal).ToArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("token")]
    [InlineData("token not-a-real-token")]
    [InlineData("Basic YWRtaW46YWRtaW4=")]
    [InlineData("token a b")]
    public async Task WhoAmI_MissingOrUnknownToken_Returns403(string? header)
    {
        using var client = Server.Client();
        if (header is not null)
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);
        var message = await (await client.GetAsync("hub/api/user")).ShouldBeHubErrorAsync(403);
        message.ShouldBe("Forbidden");
    }

    [Fact]
    public async Task WhoAmI_TokenInQueryString_Returns403()
    {
        var (_, token) = await Server.CreateUserAsync("query");
        using var client = Server.Client();
        await (await client.GetAsync($"hub/api/user?token={token}")).ShouldBeHubErrorAsync(403);
    }

    [Fact]
    public async Task WhoAmI_ExpiredToken_Returns403()
    {
        var (name, _) = await Server.CreateUserAsync("expiry");
        var token = await Server.CreateTokenAsync(name, new { expires_in = 1 });
        using var client = Server.Client(token);
        (await client.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Eventually.TrueAsync(async () => (await client.GetAsync("hub/api/user")).StatusCode == HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task WhoAmI_AdminEnvToken_IsAdmin()
    {
        using var client = Server.AdminClient();
        var model = await (await client.GetAsync("hub/api/user")).JsonAsync();
        model.GetProperty("name").GetString().ShouldBe("admin");
        model.GetProperty("admin").GetBoolean().ShouldBeTrue();
        model.GetProperty("roles").Strings().ShouldBe(["admin", "user"]);
        model.GetProperty("scopes").Strings().ShouldContain("admin:users");
    }

    [Fact]
    public async Task LegacyTokenLookup_ReturnsOwnerWithoutScopes_404ForUnknown_403WithoutAuth()
    {
        var (name, token) = await Server.CreateUserAsync("legacy");
        using var service = Server.AdminClient();
        var response = await service.GetAsync($"hub/api/authorizations/token/{token}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var model = await response.JsonAsync();
        model.GetProperty("name").GetString().ShouldBe(name);
        model.TryGetProperty("scopes", out _).ShouldBeFalse();
        model.GetProperty("groups").GetArrayLength().ShouldBe(0);

        await (await service.GetAsync("hub/api/authorizations/token/nope")).ShouldBeHubErrorAsync(404);
        using var anonymous = Server.Client();
        await (await anonymous.GetAsync($"hub/api/authorizations/token/{token}")).ShouldBeHubErrorAsync(403);
    }

    [Fact]
    public async Task Health_NoAuth_200()
    {
        using var client = Server.Client();
        (await client.GetAsync("hub/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("hub/api/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Info_NeedsReadHub()
    {
        var (_, token) = await Server.CreateUserAsync("info");
        using var user = Server.Client(token);
        (await (await user.GetAsync("hub/api/info")).ShouldBeHubErrorAsync(403)).ShouldContain("read:hub");
        using var admin = Server.AdminClient();
        (await (await admin.GetAsync("hub/api/info")).JsonAsync()).Keys().ShouldBe(["version", "python", "sys_executable", "spawner", "authenticator"]);
    }
}
