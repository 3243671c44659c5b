using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Environments;

/// <summary>A build is a compute resource: Orrery stopping in the middle of one does not lose it.</summary>
public sealed class EnvironmentRestartTests
{
    [Fact]
    public async Task Build_OrreryRestartsMidBuild_BuildIsFollowedToReady()
    {
        var server = await OrreryTestServer.StartAsync(new Dictionary<string, string?> { ["Orrery:Compute:ReconcileInterval"] = "00:00:00.200" });
        try
        {
            var (_, token) = await server.CreateUserAsync("env-restart");
            string id;
            using (var client = new EnvironmentsClient(server.Client(token)))
            {
                id = (await client.SubmitOkAsync(EnvironmentsClient.Spec("survivor"), EnvironmentsClient.Library(5))).GetProperty("id").GetString()!;
                // Stop while the build runs (it announces its steps; the venv takes seconds to make).
                await Eventually.TrueAsync(async () =>
                    (await client.Http.GetStringAsync($"{EnvironmentsClient.Prefix}/{id}/logs")).Contains("==> step: venv", StringComparison.Ordinal), seconds: 60);
                (await client.GetAsync(id)).GetProperty("state").GetString().ShouldBe("building");
            }
            server = await server.RestartAsync();
            using var after = new EnvironmentsClient(server.Client(token));
            var (environment, log) = await after.WaitBuiltAsync(id);
            environment.GetProperty("state").GetString().ShouldBe("ready", log);
            log.ShouldContain("==> done");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
