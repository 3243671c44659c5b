using System.Net;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Hub;

public class BaseUrlTests
{
    [Fact]
    public async Task BaseUrl_HubLivesUnderPrefix()
    {
        await using var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?> { ["Orrery:BaseUrl"] = "/geo/" });
        using var client = server.AdminClient();
        (await client.GetAsync("geo/hub/api")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await (await client.GetAsync("geo/hub/api/user")).JsonAsync()).GetProperty("name").GetString().ShouldBe("admin");
        (await client.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var home = await client.GetAsync("geo/hub/home");
        home.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        home.Headers.Location!.ToString().ShouldStartWith("/geo/hub/login?next=");
    }
}
