using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Environments;

/// <summary>
/// The environments service on the local backend: specs checked field by field, real virtual-environment builds with a
/// local library, the cache, a failing step, sharing and the profile default.
/// </summary>
public sealed class EnvironmentsApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OrreryTestServer Server => fixture.Server;

    private async Task<(string Name, EnvironmentsClient Client)> UserAsync(string prefix)
    {
        var (name, token) = await Server.CreateUserAsync(prefix);
        return (name, new EnvironmentsClient(Server.Client(token)));
    }

    [Theory]
    [InlineData("name: a\nbase: host\nextra: 1\n", "extra")]
    [InlineData("base: host\n", "name")]
    [InlineData("name: Bad_Name\nbase: host\n", "name")]
    [InlineData("name: a\n", "base")]
    [InlineData("name: a\nbase: 'not an image'\n", "base")]
    [InlineData("name: a\nbase: host\napt: ['rm -rf /']\n", "apt[0]")]
    [InlineData("name: a\nbase: host\nenvironment: {dependencies: [numpy, {pip: ['x; rm -rf /']}]}\n", "environment.dependencies[1].pip[0]")]
    [InlineData("name: a\nbase: host\nenvironment: {channels: [conda-forge], deps: []}\n", "environment.deps")]
    [InlineData("name: a\nbase: host\nlibraries: ['../etc']\n", "libraries[0]")]
    [InlineData("name: a\nbase: host\nlibraries: [missing]\n", "libraries[0]")]
    [InlineData("name: a\nbase: host\nenvironment_file: environment.yml\n", "environment_file")]
    [InlineData("name: a\nbase: host\nvariables: {'1BAD': x}\n", "variables.1BAD")]
    [InlineData("name: a\nbase: [host\n", "spec")]
    [InlineData("- just\n- a list\n", "spec")]
    public async Task Submit_InvalidSpec_400NamingTheField(string spec, string field)
    {
        var (_, client) = await UserAsync("env-bad");
        using var _ = client;
        var problem = await EnvironmentsClient.ProblemAsync(await client.SubmitAsync(spec), HttpStatusCode.BadRequest);
        problem.GetProperty("field").GetString().ShouldBe(field);
        problem.GetProperty("detail").GetString()!.ShouldStartWith(field + ":");
    }

    [Fact]
    public async Task Submit_UnsafeBundle_400AndNothingBuilt()
    {
        var (_, client) = await UserAsync("env-slip");
        using var _ = client;
        using var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            zip.CreateEntry("../escape.txt").Open().Dispose();
        var problem = await EnvironmentsClient.ProblemAsync(await client.SubmitAsync(EnvironmentsClient.Spec("slip"), buffer.ToArray()), HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString()!.ShouldStartWith("bundle:");
        (await client.Http.GetFromJsonAsync<JsonElement>(EnvironmentsClient.Prefix)).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Api_WithoutToken_401_WithTokenLackingScope_403()
    {
        using var anonymous = Server.Client();
        var response = await anonymous.GetAsync(EnvironmentsClient.Prefix);
        await EnvironmentsClient.ProblemAsync(response, HttpStatusCode.Unauthorized);
        var (name, _) = await Server.CreateUserAsync("env-scope");
        var narrow = await Server.CreateTokenAsync(name, new { scopes = new[] { "read:users:name!user" } });
        using var limited = Server.Client(narrow);
        await EnvironmentsClient.ProblemAsync(await limited.GetAsync(EnvironmentsClient.Prefix), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Build_LocalLibrary_ReadyWithPackages_SameContentIsACacheHit_ChangedLibraryIsNot()
    {
        var (owner, client) = await UserAsync("env-build");
        using var _ = client;
        var submitted = await client.SubmitOkAsync(EnvironmentsClient.Spec("geo"), EnvironmentsClient.Library(42));
        submitted.GetProperty("cache_hit").GetBoolean().ShouldBeFalse();
        // A Build compute resource, which the reconciler may already have launched.
        submitted.GetProperty("build").GetProperty("state").GetString().ShouldBeOneOf("pending", "starting", "running");
        var id = submitted.GetProperty("id").GetString()!;
        id.ShouldMatch("^env-[0-9a-f]{16}$");

        var (environment, log) = await client.WaitBuiltAsync(id);
        environment.GetProperty("state").GetString().ShouldBe("ready", log);
        environment.GetProperty("build").GetProperty("state").GetString().ShouldBe("stopped");
        log.ShouldContain("==> step: libraries");
        log.ShouldContain("==> done");
        environment.GetProperty("owner").GetString().ShouldBe(owner);
        environment.GetProperty("kind").GetString().ShouldBe("venv");
        environment.GetProperty("welcome").GetString().ShouldBe("Hello from geo");
        var packages = environment.GetProperty("packages").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("version").GetString()!);
        packages["orrery-testlib"].ShouldBe("0.1.0");
        packages.ShouldContainKey("distributed");   // the host's, visible through the system site packages
        var versions = environment.GetProperty("versions");
        versions.GetProperty("python").GetString()!.ShouldStartWith("3.");
        versions.GetProperty("distributed").GetString().ShouldBe(packages["distributed"]);

        // Same spec and library under another name: same content id, no build.
        var again = await client.SubmitOkAsync(EnvironmentsClient.Spec("geo-copy"), EnvironmentsClient.Library(42));
        again.GetProperty("id").GetString().ShouldBe(id);
        again.GetProperty("cache_hit").GetBoolean().ShouldBeTrue();
        again.GetProperty("state").GetString().ShouldBe("ready");

        // Only the library changed: new content.
        var changed = await client.SubmitOkAsync(EnvironmentsClient.Spec("geo"), EnvironmentsClient.Library(43));
        changed.GetProperty("id").GetString().ShouldNotBe(id);
        changed.GetProperty("cache_hit").GetBoolean().ShouldBeFalse();
        (await client.WaitBuiltAsync(changed.GetProperty("id").GetString()!)).Environment.GetProperty("state").GetString().ShouldBe("ready");

        var list = await client.Http.GetFromJsonAsync<JsonElement>(EnvironmentsClient.Prefix);
        list.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ShouldBe(["geo", "geo-copy", "geo"]);
    }

    [Fact]
    public async Task Build_RequirementTheHostLacks_FailsInItsStepWithItsOutput()
    {
        var (_, client) = await UserAsync("env-fail");
        using var _ = client;
        var spec = EnvironmentsClient.Spec("needs-new-dask", extra: "environment:\n  dependencies: [dask>=9999.1]\n");
        var id = (await client.SubmitOkAsync(spec, EnvironmentsClient.Library())).GetProperty("id").GetString()!;
        var (environment, log) = await client.WaitBuiltAsync(id);
        environment.GetProperty("state").GetString().ShouldBe("failed", log);
        environment.GetProperty("failed_step").GetString().ShouldBe("conda");
        environment.GetProperty("build").GetProperty("state").GetString().ShouldBe("failed");
        environment.GetProperty("reason").GetString()!.ShouldContain("dask>=9999.1: the host has");
    }

    [Fact]
    public async Task Sharing_PrivateUntilSharedWithAGroup_ProfileDefaultOnlyByAdmin()
    {
        var (owner, client) = await UserAsync("env-share");
        var (other, otherClient) = await UserAsync("env-other");
        using var _ = client;
        using var __ = otherClient;
        var group = "team-" + Guid.NewGuid().ToString("N")[..8];
        using (var admin = Server.AdminClient())
        {
            (await admin.PostAsJsonAsync($"hub/api/groups/{group}", new { })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync($"hub/api/groups/{group}/users", new { users = new[] { owner, other } })).EnsureSuccessStatusCode();
        }
        var id = (await client.SubmitOkAsync("name: shared\nbase: host\n")).GetProperty("id").GetString()!;

        await EnvironmentsClient.ProblemAsync(await otherClient.Http.GetAsync($"{EnvironmentsClient.Prefix}/{id}"), HttpStatusCode.NotFound);
        await EnvironmentsClient.ProblemAsync(await client.Http.PatchAsync($"{EnvironmentsClient.Prefix}/{id}",
            JsonContent.Create(new { shared_with_group = "no-such-group" })), HttpStatusCode.BadRequest);
        (await client.Http.PatchAsync($"{EnvironmentsClient.Prefix}/{id}", JsonContent.Create(new { shared_with_group = group }))).EnsureSuccessStatusCode();
        (await otherClient.GetAsync("shared")).GetProperty("shared_with_group").GetString().ShouldBe(group);
        await EnvironmentsClient.ProblemAsync(await otherClient.Http.DeleteAsync($"{EnvironmentsClient.Prefix}/{id}"), HttpStatusCode.Forbidden);

        await client.WaitBuiltAsync(id);
        var problem = await EnvironmentsClient.ProblemAsync(await client.Http.PatchAsync($"{EnvironmentsClient.Prefix}/{id}",
            JsonContent.Create(new { default_for_profile = "tiny" })), HttpStatusCode.Forbidden);
        problem.GetProperty("detail").GetString()!.ShouldContain("admin");
        using var adminEnvironments = new EnvironmentsClient(Server.AdminClient());
        (await adminEnvironments.Http.PatchAsync($"{EnvironmentsClient.Prefix}/{id}", JsonContent.Create(new { default_for_profile = "tiny" })))
            .EnsureSuccessStatusCode();
        (await client.GetAsync(id)).GetProperty("default_for_profile").GetString().ShouldBe("tiny");

        (await client.Http.DeleteAsync($"{EnvironmentsClient.Prefix}/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await EnvironmentsClient.ProblemAsync(await client.Http.GetAsync($"{EnvironmentsClient.Prefix}/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Submit_PlainYamlBody_Accepted()
    {
        var (_, client) = await UserAsync("env-plain");
        using var _ = client;
        var response = await client.Http.PostAsync(EnvironmentsClient.Prefix, new StringContent("name: plain\nbase: host\n", Encoding.UTF8, "application/yaml"));
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }
}
