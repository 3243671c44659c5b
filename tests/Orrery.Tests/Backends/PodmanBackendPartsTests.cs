using Orrery.Backends.Podman;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends;

/// <summary>
/// The Podman backend's parts that run without podman: <c>podman run</c>'s arguments and environment for a launch,
/// what it refuses, <c>podman inspect</c>'s JSON read into observations, and which events are ours.
/// </summary>
public class PodmanBackendPartsTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static LaunchSpec Spec(IReadOnlyList<string>? command = null, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null, string? image = "localhost/orrery-base:bookworm", string id = "job-0a1b2c") =>
        new(id, command ?? ["python3", "-c", "print(1)"], environment ?? NoEnvironment, workingDirectory) { Image = image };

    [Fact]
    public void Run_CommandReplacesTheEntrypoint_ArgumentsFollowTheImage()
    {
        var run = PodmanRun.Build(Spec(["python3", "-c", "print('--rm')"]), "/state/job-0a1b2c", "host");
        var args = run.Arguments;
        args[..2].ShouldBe(["run", "--detach"]);
        args[args.IndexOf("--entrypoint") + 1].ShouldBe("""["python3"]""");
        args[^3..].ShouldBe(["localhost/orrery-base:bookworm", "-c", "print('--rm')"]);
        args[args.IndexOf("--name") + 1].ShouldBe("orrery-job-0a1b2c");
        args[args.IndexOf("--label") + 1].ShouldBe("orrery.resource=job-0a1b2c");
        args[args.IndexOf("--network") + 1].ShouldBe("host");
        args[args.IndexOf("--log-opt") + 1].ShouldBe("path=/state/job-0a1b2c/container.log");
        args.ShouldNotContain("--rm");   // kept after exit, so its exit status can be read
        args.ShouldNotContain("--volume");
    }

    [Fact]
    public void Run_SecretsOnlyInPodmansEnvironment_SettingsPodmanReadsOnItsCommandLine()
    {
        var run = PodmanRun.Build(Spec(environment: new Dictionary<string, string>
        {
            ["JUPYTERHUB_API_TOKEN"] = "s3cret", ["EMPTY"] = "", ["PATH"] = "/opt/bin:/usr/bin", ["LD_PRELOAD"] = "x.so",
        }), "/state/job-0a1b2c", "host");
        run.Arguments.ShouldNotContain(a => a.Contains("s3cret", StringComparison.Ordinal));
        Pairs(run.Arguments, "--env").ShouldBe(["JUPYTERHUB_API_TOKEN", "EMPTY", "PATH=/opt/bin:/usr/bin", "LD_PRELOAD=x.so"], ignoreOrder: true);
        run.Environment.ShouldBe(new Dictionary<string, string> { ["JUPYTERHUB_API_TOKEN"] = "s3cret", ["EMPTY"] = "" });
    }

    [Fact]
    public void Run_NoPathOfTheHost_TheImagesApplies() =>
        PodmanRun.Build(Spec(), "/state/job-0a1b2c", "host").Arguments.ShouldNotContain(a => a.StartsWith("PATH", StringComparison.Ordinal));

    [Fact]
    public void Run_LimitsAndWorkingDirectory()
    {
        var home = Directory.CreateTempSubdirectory("orrery-podman-home-").FullName;
        try
        {
            var spec = Spec(workingDirectory: home) with { Resources = new ResourceRequest(1.5, 104857600, TimeSpan.FromSeconds(90.2)) };
            var args = PodmanRun.Build(spec, "/state/job-0a1b2c", "host").Arguments;
            args[args.IndexOf("--cpus") + 1].ShouldBe("1.5");
            args[args.IndexOf("--memory") + 1].ShouldBe("104857600b");
            args[args.IndexOf("--memory-swap") + 1].ShouldBe("104857600b");
            args[args.IndexOf("--timeout") + 1].ShouldBe("91");
            args[args.IndexOf("--volume") + 1].ShouldBe($"{home}:{home}:rw");
            args[args.IndexOf("--workdir") + 1].ShouldBe(home);
        }
        finally
        {
            Directory.Delete(home);
        }
    }

    [Theory]
    [InlineData(null, "names none")]
    [InlineData("", "names none")]
    [InlineData("--privileged", "not an image name")]
    [InlineData("bad image", "not an image name")]
    public void Validate_RefusesMissingOrUnsafeImages(string? image, string message) =>
        PodmanRun.Validate(Spec(image: image)).ShouldNotBeNull().ShouldContain(message);

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("-rm")]
    [InlineData("has space")]
    [InlineData("")]
    public void Validate_RefusesIdsThatCannotNameAContainerAndADirectory(string id) =>
        PodmanRun.Validate(Spec(id: id)).ShouldNotBeNull().ShouldContain("Resource id");

    [Fact]
    public void Validate_RefusesAnEmptyCommand_BadVariables_AndUnmountableDirectories()
    {
        PodmanRun.Validate(Spec(command: [])).ShouldNotBeNull().ShouldContain("command is empty");
        PodmanRun.Validate(Spec(environment: new Dictionary<string, string> { ["A=B"] = "x" })).ShouldNotBeNull().ShouldContain("invalid");
        // "-e ORRERY*" would hand the container every ORRERY_ variable of Orrery's own environment.
        PodmanRun.Validate(Spec(environment: new Dictionary<string, string> { ["ORRERY*"] = "x" })).ShouldNotBeNull().ShouldContain("invalid");
        PodmanRun.Validate(Spec(workingDirectory: "relative")).ShouldNotBeNull().ShouldContain("absolute");
        PodmanRun.Validate(Spec(workingDirectory: "/")).ShouldNotBeNull().ShouldContain("root directory");
        PodmanRun.Validate(Spec(workingDirectory: "/no/such/dir/here")).ShouldNotBeNull().ShouldContain("does not exist");
        PodmanRun.Validate(Spec(workingDirectory: "/tmp/a:b")).ShouldNotBeNull().ShouldContain("':'");
        PodmanRun.Validate(Spec()).ShouldBeNull();
    }

    [Theory]
    [InlineData("created", BackendState.Queued)]
    [InlineData("running", BackendState.Running)]
    [InlineData("paused", BackendState.Running)]
    [InlineData("exited", BackendState.Exited)]
    [InlineData("stopped", BackendState.Exited)]
    [InlineData("unknown", BackendState.Lost)]
    public void Inspect_StatusMapsOntoOrrerys(string status, BackendState expected) =>
        PodmanInspect.Observe(Inspect(status, 0)).State.ShouldBe(expected);

    [Fact]
    public void Inspect_ExitCode_PlainExitHasNoReason()
    {
        var seen = PodmanInspect.Observe(Inspect("exited", 3));
        seen.ExitCode.ShouldBe(3);
        seen.Reason.ShouldBeNull();
    }

    [Fact]
    public void Inspect_OomKilled_SaysSo()
    {
        var seen = PodmanInspect.Observe(Inspect("exited", 137, oomKilled: true, memory: 52428800));
        seen.ExitCode.ShouldBe(137);
        seen.Reason.ShouldNotBeNull().ShouldStartWith("OOMKilled");
        seen.Reason.ShouldContain("50 MiB");
    }

    [Fact]
    public void Inspect_SigkillUnderAMemoryLimit_MostLikelyOutOfMemory() =>
        PodmanInspect.Observe(Inspect("exited", 137, memory: 52428800)).Reason.ShouldNotBeNull().ShouldContain("out of memory");

    [Fact]
    public void Inspect_KilledAtItsTimeout_TimeLimitWithSigkillStatus()
    {
        var seen = PodmanInspect.Observe(Inspect("exited", -1, timeout: 1, ranSeconds: 1.05));
        seen.State.ShouldBe(BackendState.Exited);
        seen.ExitCode.ShouldBe(137);
        seen.Reason.ShouldNotBeNull().ShouldContain("time limit of 1 s");
    }

    [Fact]
    public void Inspect_NoContainer_Lost() =>
        PodmanInspect.Observe("[]").State.ShouldBe(BackendState.Lost);

    [Theory]
    [InlineData("""{"ID":"ab","Status":"died","Type":"container","Attributes":{"orrery.resource":"job-1"}}""", true)]
    [InlineData("""{"ID":"ab","Status":"died","Type":"container","Attributes":{"other":"x"}}""", false)]
    [InlineData("""{"ID":"ab","Status":"died","Type":"container"}""", false)]
    [InlineData("not json", false)]
    public void Events_OnlyContainersWithTheResourceLabelAreOurs(string line, bool ours) => PodmanEndWatcher.IsOurs(line).ShouldBe(ours);

    private static string Inspect(string status, int exitCode, bool oomKilled = false, long memory = 0, long timeout = 0, double ranSeconds = 2) =>
        $$$"""
        [{"Id":"3a6dd3b5fb24","State":{"Status":"{{{status}}}","Running":false,"OOMKilled":{{{(oomKilled ? "true" : "false")}}},"ExitCode":{{{exitCode}}},"Error":"",
          "StartedAt":"2026-11-22T08:38:00.000000000Z","FinishedAt":"{{{new DateTime(2026, 11, 22, 8, 38, 0, DateTimeKind.Utc).AddSeconds(ranSeconds):O}}}"},
          "Config":{"Timeout":{{{timeout}}}},"HostConfig":{"Memory":{{{memory}}}}}]
        """;

    private static List<string> Pairs(List<string> arguments, string option) =>
        arguments.Select((a, i) => (a, i)).Where(x => x.a == option).Select(x => arguments[x.i + 1]).ToList();
}
