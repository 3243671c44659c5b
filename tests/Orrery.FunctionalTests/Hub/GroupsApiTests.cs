using System.Net;
using System.Net.Http.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

public class GroupsApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Group_CreateAddMembersRemoveDelete_UserModelShowsGroups()
    {
        var group = $"team-{Guid.NewGuid():N}"[..13];
        var (alice, aliceToken) = await Server.CreateUserAsync("member");
        using var admin = Server.AdminClient();
        var created = await admin.PostAsJsonAsync($"hub/api/groups/{group}", new { });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await created.JsonAsync()).Keys().ShouldBe(["kind", "name", "users", "roles", "properties"]);
        await (await admin.PostAsJsonAsync($"hub/api/groups/{group}", new { })).ShouldBeHubErrorAsync(409);

        var added = await (await admin.PostAsJsonAsync($"hub/api/groups/{group}/users", new { users = new[] { alice } })).JsonAsync();
        added.GetProperty("users").Strings().ShouldBe([alice]);
        using (var client = Server.Client(aliceToken))
            (await (await client.GetAsync("hub/api/user")).JsonAsync()).GetProperty("groups").Strings().ShouldBe([group]);

        (await (await admin.PostAsJsonAsync($"hub/api/groups/{group}/users", new { users = new[] { "ghost-user" } })).ShouldBeHubErrorAsync(400)).ShouldContain("ghost-user");
        var removed = await (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"hub/api/groups/{group}/users") { Content = JsonContent.Create(new { users = new[] { alice } }) })).JsonAsync();
        removed.GetProperty("users").GetArrayLength().ShouldBe(0);

        (await admin.DeleteAsync($"hub/api/groups/{group}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await admin.GetAsync($"hub/api/groups/{group}")).ShouldBeHubErrorAsync(404);
    }

    [Fact]
    public async Task Groups_BulkCreateAndList()
    {
        var names = new[] { $"g-{Guid.NewGuid():N}"[..10], $"g-{Guid.NewGuid():N}"[..10] };
        using var admin = Server.AdminClient();
        (await admin.PostAsJsonAsync("hub/api/groups", new { groups = names })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var listed = (await (await admin.GetAsync("hub/api/groups")).JsonAsync()).EnumerateArray().Select(g => g.GetProperty("name").GetString()).ToList();
        listed.ShouldContain(names[0]);
        listed.ShouldContain(names[1]);
    }

    [Fact]
    public async Task Groups_NonAdmin_403()
    {
        var (_, token) = await Server.CreateUserAsync("plain");
        using var client = Server.Client(token);
        await (await client.GetAsync("hub/api/groups")).ShouldBeHubErrorAsync(403);
        await (await client.PostAsJsonAsync("hub/api/groups/mine", new { })).ShouldBeHubErrorAsync(403);
    }
}
