using System.Net;
using System.Net.Http.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

public class UsersApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task CreateMany_NewNames_201WithModels_409WhenAllExist()
    {
        var names = new[] { Unique("bulk"), Unique("bulk") };
        using var admin = Server.AdminClient();
        var response = await admin.PostAsJsonAsync("hub/api/users", new { usernames = names, admin = false });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await response.JsonAsync()).EnumerateArray().Select(u => u.GetProperty("name").GetString()).ShouldBe(names);
        (await (await admin.PostAsJsonAsync("hub/api/users", new { usernames = names })).ShouldBeHubErrorAsync(409)).ShouldContain("already exist");
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("with space")]
    [InlineData("-dash")]
    [InlineData("a..b")]
    public async Task CreateOne_InvalidName_400(string name)
    {
        using var admin = Server.AdminClient();
        var message = await (await admin.PostAsJsonAsync($"hub/api/users/{Uri.EscapeDataString(name)}", new { })).ShouldBeHubErrorAsync(400);
        message.ShouldContain("Invalid username");
    }

    [Fact]
    public async Task CreateOne_Existing_409()
    {
        var (name, _) = await Server.CreateUserAsync("dup");
        using var admin = Server.AdminClient();
        await (await admin.PostAsJsonAsync($"hub/api/users/{name}", new { })).ShouldBeHubErrorAsync(409);
    }

    [Fact]
    public async Task Get_OwnModel_200_OtherUser_404NoAccess_UnknownForAdmin_404()
    {
        var (alice, aliceToken) = await Server.CreateUserAsync("alice");
        var (bob, _) = await Server.CreateUserAsync("bob");
        using var client = Server.Client(aliceToken);
        (await (await client.GetAsync($"hub/api/users/{alice}")).JsonAsync()).GetProperty("name").GetString().ShouldBe(alice);
        (await (await client.GetAsync($"hub/api/users/{bob}")).ShouldBeHubErrorAsync(404)).ShouldBe("No access to resources or resources not found");
        using var admin = Server.AdminClient();
        (await (await admin.GetAsync($"hub/api/users/{bob}")).JsonAsync()).GetProperty("name").GetString().ShouldBe(bob);
        (await (await admin.GetAsync("hub/api/users/nobody-here")).ShouldBeHubErrorAsync(404)).ShouldBe("Not Found");
    }

    [Fact]
    public async Task List_NonAdmin_403MissingScope()
    {
        var (_, token) = await Server.CreateUserAsync("lister");
        using var client = Server.Client(token);
        (await (await client.GetAsync("hub/api/users")).ShouldBeHubErrorAsync(403)).ShouldContain("list:users");
    }

    [Fact]
    public async Task List_PaginationHeader_ReturnsEnvelopeWithNext()
    {
        var prefix = Unique("page");
        for (var i = 0; i < 3; i++)
            await Server.CreateUserAsync(prefix);
        using var admin = Server.AdminClient();
        admin.DefaultRequestHeaders.Accept.ParseAdd("application/jupyterhub-pagination+json");
        var page = await (await admin.GetAsync($"hub/api/users?name_filter={prefix}&limit=2")).JsonAsync();
        page.GetProperty("items").GetArrayLength().ShouldBe(2);
        var pagination = page.GetProperty("_pagination");
        pagination.GetProperty("total").GetInt32().ShouldBe(3);
        pagination.GetProperty("next").GetProperty("offset").GetInt32().ShouldBe(2);
        var next = pagination.GetProperty("next").GetProperty("url").GetString()!;
        var rest = await (await admin.GetAsync(next.TrimStart('/'))).JsonAsync();
        rest.GetProperty("items").GetArrayLength().ShouldBe(1);
        rest.GetProperty("_pagination").GetProperty("next").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task List_WithoutPaginationHeader_BareList()
    {
        var prefix = Unique("bare");
        await Server.CreateUserAsync(prefix);
        using var admin = Server.AdminClient();
        var list = await (await admin.GetAsync($"hub/api/users?name_filter={prefix}")).JsonAsync();
        list.ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Array);
        list.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task List_BadStateFilter_400()
    {
        using var admin = Server.AdminClient();
        (await (await admin.GetAsync("hub/api/users?state=sleeping")).ShouldBeHubErrorAsync(400)).ShouldContain("Unrecognized state filter");
        (await (await admin.GetAsync("hub/api/users?offset=-1")).ShouldBeHubErrorAsync(400)).ShouldContain("offset");
    }

    [Fact]
    public async Task Patch_AdminAndRename_Applied_UnknownField400()
    {
        var (name, _) = await Server.CreateUserAsync("patch");
        var renamed = Unique("renamed");
        using var admin = Server.AdminClient();
        var model = await (await admin.PatchAsJsonAsync($"hub/api/users/{name}", new { name = renamed, admin = true })).JsonAsync();
        model.GetProperty("name").GetString().ShouldBe(renamed);
        model.GetProperty("admin").GetBoolean().ShouldBeTrue();
        (await (await admin.PatchAsJsonAsync($"hub/api/users/{renamed}", new { colour = "blue" })).ShouldBeHubErrorAsync(400)).ShouldContain("colour");
    }

    [Fact]
    public async Task Patch_ByNonAdmin_403()
    {
        var (name, token) = await Server.CreateUserAsync("selfpromote");
        using var client = Server.Client(token);
        await (await client.PatchAsJsonAsync($"hub/api/users/{name}", new { admin = true })).ShouldBeHubErrorAsync(403);
    }

    [Fact]
    public async Task Delete_User_204_TokensStopWorking_DeleteSelf400()
    {
        var (name, token) = await Server.CreateUserAsync("gone");
        using var admin = Server.AdminClient();
        (await admin.DeleteAsync($"hub/api/users/{name}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        using var client = Server.Client(token);
        await (await client.GetAsync("hub/api/user")).ShouldBeHubErrorAsync(403);
        await (await admin.DeleteAsync("hub/api/users/admin")).ShouldBeHubErrorAsync(400);
    }

    [Fact]
    public async Task Activity_ReportsLastActivity_RejectsFutureAndUnknownServer()
    {
        var (name, token) = await Server.CreateUserAsync("active");
        using var client = Server.Client(token);
        var when = DateTime.UtcNow.AddMinutes(5).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ");
        (await client.PostAsJsonAsync($"hub/api/users/{name}/activity", new { last_activity = when })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await (await client.GetAsync($"hub/api/users/{name}")).JsonAsync()).GetProperty("last_activity").GetString().ShouldBe(when);

        var future = DateTime.UtcNow.AddHours(2).ToString("O");
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/activity", new { last_activity = future })).ShouldBeHubErrorAsync(400)).ShouldContain("future");
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/activity", new { })).ShouldBeHubErrorAsync(400)).ShouldContain("at least one");
        var unknownServer = new { servers = new Dictionary<string, object> { ["nope"] = new { last_activity = when } } };
        (await (await client.PostAsJsonAsync($"hub/api/users/{name}/activity", unknownServer)).ShouldBeHubErrorAsync(400)).ShouldContain("No such server 'nope'");
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
