using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Storage;

/// <summary>The same behaviour on every store: SQLite (embedded default) and PostgreSQL.</summary>
public class StorageProviderTests
{
    [Theory]
    [MemberData(nameof(StorageProviders.All), MemberType = typeof(StorageProviders))]
    public async Task UsersGroupsTokens_SurviveRestart(string provider)
    {
        var server = await OrreryTestServer.StartAsync(await StorageProviders.SettingsAsync(provider));
        try
        {
            await using (var scope = server.Services.CreateAsyncScope())
                scope.ServiceProvider.GetRequiredService<OrreryDb>().Database.ProviderName!.ShouldContain(provider == "Sqlite" ? "Sqlite" : "Npgsql");
            var (alice, token) = await server.CreateUserAsync("persist", password: "a long password");
            using (var admin = server.AdminClient())
            {
                (await admin.PostAsJsonAsync("hub/api/groups/survivors", new { users = new[] { alice } })).StatusCode.ShouldBe(HttpStatusCode.Created);
                using var user = server.Client(token);
                (await user.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
            }

            server = await server.RestartAsync();

            using var again = server.Client(token);
            var model = await (await again.GetAsync("hub/api/user")).JsonAsync();
            model.GetProperty("name").GetString().ShouldBe(alice);
            model.GetProperty("groups").Strings().ShouldBe(["survivors"]);
            // Activity recorded before the restart was flushed on shutdown.
            model.GetProperty("last_activity").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.String);
            var tokens = (await (await again.GetAsync($"hub/api/users/{alice}/tokens")).JsonAsync()).GetProperty("api_tokens");
            tokens[0].GetProperty("last_activity").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.String);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(StorageProviders.All), MemberType = typeof(StorageProviders))]
    public async Task DeleteUser_CascadesToTokensAndMemberships(string provider)
    {
        await using var server = await OrreryTestServer.StartAsync(await StorageProviders.SettingsAsync(provider));
        var (name, _) = await server.CreateUserAsync("cascade");
        await server.CreateTokenAsync(name);
        using var admin = server.AdminClient();
        (await admin.PostAsJsonAsync("hub/api/groups/doomed", new { users = new[] { name } })).EnsureSuccessStatusCode();
        (await admin.DeleteAsync($"hub/api/users/{name}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        (await db.Tokens.CountAsync(t => t.User!.Name == name)).ShouldBe(0);
        (await db.Groups.Where(g => g.Name == "doomed").SelectMany(g => g.Users).CountAsync()).ShouldBe(0);
    }

    [Theory]
    [MemberData(nameof(StorageProviders.All), MemberType = typeof(StorageProviders))]
    public async Task Times_RoundTripAsUtc(string provider)
    {
        await using var server = await OrreryTestServer.StartAsync(await StorageProviders.SettingsAsync(provider));
        var (name, _) = await server.CreateUserAsync("utc");
        await using var scope = server.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<OrreryDb>().Users.AsNoTracking().FirstAsync(u => u.Name == name);
        user.Created.Kind.ShouldBe(DateTimeKind.Utc);
        (DateTime.UtcNow - user.Created).ShouldBeLessThan(TimeSpan.FromMinutes(5));
    }
}
