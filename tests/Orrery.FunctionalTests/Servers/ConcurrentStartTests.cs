using System.Net;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.FunctionalTests.Infrastructure;
using Shouldly;
using Xunit;

namespace Orrery.FunctionalTests.Servers;

public sealed class ConcurrentStartTests(ServersFixture fixture) : IClassFixture<ServersFixture>
{
    [Fact]
    public async Task SimultaneousStarts_LaunchOneServer_TheOthersArePending()
    {
        var server = fixture.Server;
        var (name, token) = await server.CreateUserAsync("race");
        using var client = server.Client(token);

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.PostAsync($"hub/api/users/{name}/server", null)));

        answers.Select(a => a.StatusCode).ShouldAllBe(s => s == HttpStatusCode.Created || s == HttpStatusCode.Accepted);
        answers.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBeGreaterThanOrEqualTo(1);
        await using var scope = server.Services.CreateAsyncScopeHelper();
        (await scope.Db().Resources.CountAsync(r => r.Owner!.Name == name && r.Kind == ResourceKind.Server)).ShouldBe(1);
        (await client.DeleteAsync($"hub/api/users/{name}/server")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }
}
