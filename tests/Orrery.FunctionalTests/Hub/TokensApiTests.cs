using System.Net;
using System.Net.Http.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

public class TokensApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Create_OwnToken_201WithModelAndSecret()
    {
        var (name, token) = await Server.CreateUserAsync("tok");
        using var client = Server.Client(token);
        var response = await client.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { note = "laptop", expires_in = 3600 });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var model = await response.JsonAsync();
        model.Keys().ShouldBe(["user", "id", "kind", "roles", "scopes", "created", "last_activity", "expires_at", "note", "session_id", "oauth_client", "token"]);
        model.GetProperty("user").GetString().ShouldBe(name);
        model.GetProperty("id").GetString()!.ShouldStartWith("a");
        model.GetProperty("kind").GetString().ShouldBe("api_token");
        model.GetProperty("note").GetString().ShouldBe("laptop");
        model.GetProperty("oauth_client").GetString().ShouldBe("JupyterHub");
        model.GetProperty("expires_at").GetString().ShouldNotBeNull();
        var secret = model.GetProperty("token").GetString()!;
        secret.Length.ShouldBe(64);
        using var withNew = Server.Client(secret);
        (await withNew.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Create_ByAdminForOther_NoteSaysWho()
    {
        var (name, _) = await Server.CreateUserAsync("noted");
        using var admin = Server.AdminClient();
        var model = await (await admin.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { })).JsonAsync();
        model.GetProperty("note").GetString().ShouldBe("Requested via api by user admin");
    }

    [Fact]
    public async Task Create_ForOtherUserWithoutPermission_403()
    {
        var (_, token) = await Server.CreateUserAsync("thief");
        var (victim, _) = await Server.CreateUserAsync("victim");
        using var client = Server.Client(token);
        (await (await client.PostAsJsonAsync($"hub/api/users/{victim}/tokens", new { })).ShouldBeHubErrorAsync(403))
            .ShouldBe($"User {victim} not found or no permissions to generate tokens");
    }

    [Fact]
    public async Task Create_WithPasswordInBody_NoToken_201_WrongPassword403()
    {
        var (name, _) = await Server.CreateUserAsync("pw", password: "correct horse");
        using var anonymous = Server.Client();
        var ok = await anonymous.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { auth = new { username = name, password = "correct horse" } });
        ok.StatusCode.ShouldBe(HttpStatusCode.Created);
        await (await anonymous.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { auth = new { username = name, password = "wrong" } })).ShouldBeHubErrorAsync(403);
        await (await anonymous.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { })).ShouldBeHubErrorAsync(403);
    }

    [Fact]
    public async Task Create_ScopedToken_CanOnlyDoThat()
    {
        var (name, token) = await Server.CreateUserAsync("narrow");
        using var client = Server.Client(token);
        var model = await (await client.PostAsJsonAsync($"hub/api/users/{name}/tokens",
            new { scopes = new[] { "read:users:name!user", "access:services!service=dask-gateway" } })).JsonAsync();
        model.GetProperty("scopes").Strings().ShouldBe(["access:services!service=dask-gateway", $"read:users:name!user={name}"]);
        using var narrow = Server.Client(model.GetProperty("token").GetString());
        var whoami = await (await narrow.GetAsync("hub/api/user")).JsonAsync();
        whoami.GetProperty("scopes").Strings().ShouldBe(["access:services!service=dask-gateway", $"read:users:name!user={name}"]);
        // Without read:users the model shrinks to the identify fields.
        whoami.Keys().ShouldBe(["kind", "name", "admin", "groups", "session_id", "scopes"]);
        await (await narrow.GetAsync($"hub/api/users/{name}/tokens")).ShouldBeHubErrorAsync(403);
    }

    [Theory]
    [InlineData("admin:users", "Not assigning requested scopes")]
    [InlineData("read:users", "Not assigning requested scopes")]
    [InlineData("fly:to-the-moon", "Unknown scopes")]
    public async Task Create_ScopeNotHeldOrUnknown_400(string scope, string message)
    {
        var (name, token) = await Server.CreateUserAsync("greedy");
        using var client = Server.Client(token);
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { scopes = new[] { scope } })).ShouldBeHubErrorAsync(400)).ShouldContain(message);
    }

    [Fact]
    public async Task Create_BadExpiry_400()
    {
        var (name, token) = await Server.CreateUserAsync("expiry");
        using var client = Server.Client(token);
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { expires_in = -5 })).ShouldBeHubErrorAsync(400)).ShouldContain("expires_in");
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { expires_in = "soon" })).ShouldBeHubErrorAsync(400)).ShouldContain("expires_in");
    }

    [Fact]
    public async Task ListGetDelete_Lifecycle_RevokedAtOnce()
    {
        var (name, token) = await Server.CreateUserAsync("life");
        var second = await Server.CreateTokenAsync(name, new { note = "second" });
        using var client = Server.Client(token);
        using (var user = Server.Client(second))
            (await user.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var list = (await (await client.GetAsync($"hub/api/users/{name}/tokens")).JsonAsync()).GetProperty("api_tokens");
        list.GetArrayLength().ShouldBe(2);
        var secondId = list.EnumerateArray().Single(t => t.GetProperty("note").GetString() == "second").GetProperty("id").GetString();
        list.EnumerateArray().Any(t => t.TryGetProperty("token", out var _)).ShouldBeFalse();

        (await (await client.GetAsync($"hub/api/users/{name}/tokens/{secondId}")).JsonAsync()).GetProperty("note").GetString().ShouldBe("second");
        (await client.DeleteAsync($"hub/api/users/{name}/tokens/{secondId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        using (var revoked = Server.Client(second))
            await (await revoked.GetAsync("hub/api/user")).ShouldBeHubErrorAsync(403);
        await (await client.GetAsync($"hub/api/users/{name}/tokens/{secondId}")).ShouldBeHubErrorAsync(404);
        await (await client.DeleteAsync($"hub/api/users/{name}/tokens/o1")).ShouldBeHubErrorAsync(404);
    }

    [Fact]
    public async Task List_OtherUsersTokens_404ForUser_200ForAdmin()
    {
        var (_, token) = await Server.CreateUserAsync("nosy");
        var (other, _) = await Server.CreateUserAsync("private");
        using var client = Server.Client(token);
        await (await client.GetAsync($"hub/api/users/{other}/tokens")).ShouldBeHubErrorAsync(404);
        using var admin = Server.AdminClient();
        (await (await admin.GetAsync($"hub/api/users/{other}/tokens")).JsonAsync()).GetProperty("api_tokens").GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Token_StoredOnlyAsHash()
    {
        var (name, token) = await Server.CreateUserAsync("hashed");
        await using var scope = Server.Services.CreateAsyncScopeHelper();
        var db = scope.Db();
        var stored = db.Tokens.Where(t => t.User!.Name == name).Select(t => t.Hash).ToList();
        stored.ShouldHaveSingleItem().Length.ShouldBe(32);
        var raw = System.Text.Encoding.UTF8.GetBytes(token);
        stored[0].ShouldBe(System.Security.Cryptography.SHA256.HashData(raw));
    }

    [Fact]
    public async Task LastActivity_RecordedOnUse()
    {
        var (name, token) = await Server.CreateUserAsync("used");
        using var client = Server.Client(token);
        await client.GetAsync("hub/api/user");
        var tokens = (await (await client.GetAsync($"hub/api/users/{name}/tokens")).JsonAsync()).GetProperty("api_tokens");
        tokens[0].GetProperty("last_activity").GetString().ShouldNotBeNull();
    }
}
