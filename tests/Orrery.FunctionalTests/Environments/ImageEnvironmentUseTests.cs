using Orrery.FunctionalTests.Podman;

namespace Orrery.FunctionalTests.Environments;

/// <summary>An environment built by Podman on the test base image (<c>scripts/podman.sh base-image</c>); its processes run as containers.</summary>
public sealed class ImageEnvironmentFixture : EnvironmentUseFixture
{
    protected override string Base => PodmanCli.BaseImage;

    public override string ExpectedBackend => "podman";

    protected override async Task CleanUpAsync(IReadOnlyList<string> resourceIds)
    {
        if (resourceIds.Count > 0)
            await PodmanCli.RunAsync(["rm", "--force", "--ignore", .. resourceIds.Select(id => "orrery-" + id)]);
    }

    protected override bool Available => PodmanCli.Unavailable.Value is null;

    protected override IReadOnlyDictionary<string, string?> Extra => new Dictionary<string, string?>
    {
        ["Orrery:Backends:Podman:Enabled"] = "true",
        ["Orrery:Backends:Podman:ConfigFile"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF"),
        ["Orrery:Environments:ContainersConf"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF"),
        ["Orrery:Environments:ImageRepository"] = "localhost/orrery-env-test",
    };
}

/// <summary>
/// The container realisation: the same checks as <see cref="HostEnvironmentUseTests"/> with the environment an image —
/// the job, the cluster's scheduler and workers and the server run on the Podman backend although none asked for it.
/// </summary>
[Collection("podman")]
public sealed class ImageEnvironmentUseTests(ImageEnvironmentFixture fixture) : IClassFixture<ImageEnvironmentFixture>
{
    [PodmanFact]
    public Task Job_InImageEnvironment_ImportsTheLibrary() => EnvironmentUse.JobImportsLibraryAsync(fixture);

    [PodmanFact]
    public Task Cluster_InImageEnvironment_WorkersImportTheLibrary() => EnvironmentUse.ClusterWorkersImportLibraryAsync(fixture);

    [PodmanFact]
    public Task Server_InImageEnvironment_ImportsTheLibrary() => EnvironmentUse.ServerImportsLibraryAsync(fixture);
}

/// <summary>A Podman build that fails names the Containerfile instruction that failed and shows its output.</summary>
[Collection("podman")]
public sealed class ImageEnvironmentBuildTests(ImageEnvironmentFixture fixture) : IClassFixture<ImageEnvironmentFixture>
{
    [PodmanFact]
    public async Task Build_CondaDependencyOnABaseWithoutConda_FailsInThatInstruction()
    {
        using var client = new EnvironmentsClient(fixture.Server.Client(fixture.Token));
        var spec = EnvironmentsClient.Spec("needs-conda", PodmanCli.BaseImage, "environment:\n  dependencies: [xarray]\n");
        var id = (await client.SubmitOkAsync(spec, EnvironmentsClient.Library(11))).GetProperty("id").GetString()!;
        var (environment, log) = await client.WaitBuiltAsync(id);
        environment.GetProperty("state").GetString().ShouldBe("failed", log);
        environment.GetProperty("failed_step").GetString()!.ShouldStartWith("build (STEP 3/");
        environment.GetProperty("failed_step").GetString()!.ShouldContain("conda env update");
        environment.GetProperty("reason").GetString()!.ShouldContain("The base image has no conda");
    }

    [PodmanFact]
    public async Task Build_SameImageSpecAgain_IsACacheHit()
    {
        using var client = new EnvironmentsClient(fixture.Server.Client(fixture.Token));
        var again = await client.SubmitOkAsync(EnvironmentsClient.Spec("teamlib-again", PodmanCli.BaseImage), EnvironmentsClient.Library(42));
        again.GetProperty("cache_hit").GetBoolean().ShouldBeTrue();
        again.GetProperty("id").GetString().ShouldBe(fixture.EnvironmentId);
        again.GetProperty("kind").GetString().ShouldBe("image");
        again.GetProperty("packages").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ShouldContain("orrery-testlib");
    }
}
