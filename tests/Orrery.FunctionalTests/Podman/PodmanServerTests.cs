using System.Net;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.FunctionalTests.Servers;

namespace Orrery.FunctionalTests.Podman;

/// <summary>
/// A personal server whose profile says <c>Backend=podman</c> with the base image (the cheap http.server profile): it
/// runs in a container with the user's home mounted at the same path, is reached through the <c>/user/&lt;name&gt;/</c>
/// proxy over the host network, and stopping it stops the container.
/// </summary>
[Collection("podman")]
public sealed class PodmanServerTests
{
    [PodmanFact]
    public async Task ServerInAContainer_ReachedThroughTheUserProxy_StopStopsTheContainer()
    {
        await using var server = await OrreryTestServer.StartAsync(ServerProfiles.Settings(new Dictionary<string, string?>
        {
            ["Orrery:Backends:Podman:Enabled"] = "true",
            ["Orrery:Backends:Podman:ConfigFile"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF"),
            ["Orrery:Servers:Profiles:0:Backend"] = "podman",   // "tiny", the default profile
            ["Orrery:Servers:Profiles:0:Image"] = PodmanCli.BaseImage,
        }));
        var (name, token) = await server.CreateUserAsync("podman-srv");
        using var client = server.Client(token);
        string? container = null;
        try
        {
            var started = await client.PostAsync($"hub/api/users/{name}/server", null);
            started.StatusCode.ShouldBeOneOf([HttpStatusCode.Created, HttpStatusCode.Accepted], await started.Content.ReadAsStringAsync());
            await Eventually.TrueAsync(async () =>
            {
                var user = await (await client.GetAsync($"hub/api/users/{name}")).JsonAsync();
                return user.GetProperty("servers").TryGetProperty("", out var s) && s.GetProperty("ready").GetBoolean();
            }, seconds: 60);

            await using (var scope = server.Services.CreateAsyncScopeHelper())
            {
                var resource = await scope.Db().Resources.AsNoTracking().SingleAsync(r => r.Kind == ResourceKind.Server && r.OwnerId ==
                    scope.Db().Users.Single(u => u.Name == name).Id);
                resource.Backend.ShouldBe("podman");
                container = $"orrery-{resource.Id}";
            }
            (await PodmanCli.RunAsync("container", "inspect", "--format", "{{.State.Status}} {{.Config.Image}}", container))
                .Output.ShouldBe($"running {PodmanCli.BaseImage}");
            // The environment it wrote into the home (mounted at the same path): podman's marker, JupyterHub's variables.
            var home = Path.Combine(server.DataDir, "homes", name);
            var environment = await File.ReadAllLinesAsync(Path.Combine(home, "env-.txt"));
            environment.ShouldContain("container=podman");
            environment.ShouldContain($"HOME={home}");
            environment.ShouldContain(line => line.StartsWith("JUPYTERHUB_API_TOKEN=", StringComparison.Ordinal));

            // Through the proxy: http.server serves the home, so a file written there on the host comes back.
            var marker = Path.Combine(home, "user", name);
            Directory.CreateDirectory(marker);
            await File.WriteAllTextAsync(Path.Combine(marker, "marker.txt"), "served from a container");
            (await client.GetStringAsync($"user/{name}/marker.txt")).ShouldBe("served from a container");

            var stopped = await client.DeleteAsync($"hub/api/users/{name}/server");
            stopped.IsSuccessStatusCode.ShouldBeTrue(await stopped.Content.ReadAsStringAsync());
            // Stopped, its end recorded, and then removed: nothing of it is left in podman's store.
            await Eventually.TrueAsync(async () => (await PodmanCli.RunAsync("container", "exists", container)).ExitCode == 1, seconds: 30);
            (await client.GetAsync($"user/{name}/marker.txt")).StatusCode.ShouldNotBe(HttpStatusCode.OK);
        }
        finally
        {
            if (container is not null)
                await PodmanCli.RunAsync("rm", "--force", "--ignore", "--time", "0", container);
        }
    }
}
