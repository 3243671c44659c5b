using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

/// <summary>First start, ORRERY_ADMIN_TOKEN and later starts, with the real server process and its console output.</summary>
public partial class BootstrapTests
{
    [Fact]
    public async Task FirstStart_PrintsAdminPasswordAndToken_Once_EnvTokenReplacedOnRestart()
    {
        var dataDir = Directory.CreateTempSubdirectory("orrery-bootstrap-").FullName;
        try
        {
            string password, token;
            await using (var first = await ServerProcess.StartAsync(dataDir, new Dictionary<string, string>()))
            {
                password = first.Find(PasswordLine())!;
                token = first.Find(TokenLine())!;
                password.ShouldNotBeNullOrEmpty();
                token.ShouldMatch("^[0-9a-f]{64}$");
                using var client = first.Client(token);
                (await (await client.GetAsync("hub/api/user")).JsonAsync()).GetProperty("admin").GetBoolean().ShouldBeTrue();
                using var anonymous = first.Client();
                var byPassword = await anonymous.PostAsJsonAsync("hub/api/users/admin/tokens", new { auth = new { username = "admin", password } });
                byPassword.StatusCode.ShouldBe(HttpStatusCode.Created);
            }

            const string envToken = "automation-token-0123456789abcdef";
            await using (var second = await ServerProcess.StartAsync(dataDir, new Dictionary<string, string> { ["ORRERY_ADMIN_TOKEN"] = envToken }))
            {
                second.Find(PasswordLine()).ShouldBeNull();
                second.Find(TokenLine()).ShouldBeNull();
                using var withEnv = second.Client(envToken);
                (await (await withEnv.GetAsync("hub/api/user")).JsonAsync()).GetProperty("name").GetString().ShouldBe("admin");
                using var withBootstrap = second.Client(token);
                (await withBootstrap.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.OK);
            }

            await using (var third = await ServerProcess.StartAsync(dataDir, new Dictionary<string, string>()))
            {
                using var withOldEnv = third.Client(envToken);
                (await withOldEnv.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Start_BadSetting_ExitsNamingIt()
    {
        var dataDir = Directory.CreateTempSubdirectory("orrery-badsetting-").FullName;
        try
        {
            var error = await Should.ThrowAsync<InvalidOperationException>(() =>
                ServerProcess.StartAsync(dataDir, new Dictionary<string, string> { ["ORRERY_BASE_URL"] = "jupyter" }));
            error.Message.ShouldContain("Orrery:BaseUrl must start and end with '/'");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [GeneratedRegex(@"Password: (\S+)")]
    private static partial Regex PasswordLine();

    [GeneratedRegex(@"API token for admin \(id a\d+\): ([0-9a-f]+)")]
    private static partial Regex TokenLine();
}
