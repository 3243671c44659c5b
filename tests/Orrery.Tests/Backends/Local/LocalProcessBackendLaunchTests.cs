using System.Runtime.Versioning;
using System.Text.Json;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends.Local;

[SupportedOSPlatform("linux")]
public class LocalProcessBackendLaunchTests : LocalBackendTestBase
{
    [Fact]
    public async Task LaunchAsync_ProgramPrintsEnvironment_SeesExactlyBasePlusSpec()
    {
        var backend = NewBackend();
        Dictionary<string, string> environment = new() { ["FOO"] = "bar", ["SPACED"] = "a b $HOME 'q'" };

        var handle = await LaunchAsync(backend, new LaunchSpec("env", ["/usr/bin/env"], environment));
        (await WaitForEndAsync(backend, handle)).Succeeded.ShouldBeTrue();

        string[] lines = (await ReadLogAsync(backend, handle)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldBe(
            [$"PATH={Environment.GetEnvironmentVariable("PATH")}", "LANG=C.UTF-8", "FOO=bar", "SPACED=a b $HOME 'q'"],
            ignoreOrder: true);
    }

    [Fact]
    public async Task LaunchAsync_SpecSetsLangAndPwd_SpecValuesWin()
    {
        var backend = NewBackend();
        Dictionary<string, string> environment = new() { ["LANG"] = "de_DE.UTF-8", ["PATH"] = "/usr/bin:/bin" };

        var handle = await LaunchAsync(backend, new LaunchSpec("lang", ["/usr/bin/env"], environment));
        await WaitForEndAsync(backend, handle);

        string[] lines = (await ReadLogAsync(backend, handle)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldBe(["PATH=/usr/bin:/bin", "LANG=de_DE.UTF-8"], ignoreOrder: true);
    }

    [Fact]
    public async Task LaunchAsync_ArgumentsWithSpacesQuotesAndDollar_ReachProgramVerbatim()
    {
        var backend = NewBackend();
        string[] arguments = ["a b", "$HOME", "${PATH}", "'single'", "\"double\"", "", "*", "`id`", "; echo injected", "back\\slash", "  "];

        var handle = await LaunchAsync(backend, Spec("args", ["/usr/bin/printf", "<%s>\\n", .. arguments]));
        await WaitForEndAsync(backend, handle);

        string log = await ReadLogAsync(backend, handle);
        log.ShouldBe(string.Concat(arguments.Select(argument => $"<{argument}>\n")));
    }

    [Fact]
    public async Task LaunchAsync_ProgramNamedLikeShellBuiltin_RunsAsExternalProgram()
    {
        var backend = NewBackend();

        // `exit` is a shell builtin, not a program: it must not end the wrapper shell with status 5.
        var handle = await LaunchAsync(backend, Spec("builtin", "exit", "5"));

        var observation = await WaitForEndAsync(backend, handle);
        observation.State.ShouldBe(BackendState.Exited);
        observation.ExitCode.ShouldBe(127);
    }

    [Fact]
    public async Task LaunchAsync_NoWorkingDirectory_RunsInPrivatePerResourceDirectory()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("wd-default", "/bin/pwd"));
        await WaitForEndAsync(backend, handle);

        string dir = Path.Combine(StateDir, "wd-default");
        (await ReadLogAsync(backend, handle)).ShouldBe(dir + "\n");
        File.GetUnixFileMode(dir).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task LaunchAsync_WorkingDirectoryGiven_RunsThere()
    {
        var backend = NewBackend();
        string workingDirectory = Directory.CreateDirectory(Path.Combine(Root, "work dir")).FullName;

        var handle = await LaunchAsync(backend, new LaunchSpec("wd-given", ["/bin/pwd"], new Dictionary<string, string>(), workingDirectory));
        await WaitForEndAsync(backend, handle);

        (await ReadLogAsync(backend, handle)).ShouldBe(workingDirectory + "\n");
    }

    [Fact]
    public async Task LaunchAsync_ValidSpec_HandleHoldsPidStartTimeAndDirectory()
    {
        var backend = NewBackend();

        // Long-running: for a program that is over before launch returns, the start time may be unknown (0).
        var handle = await LaunchAsync(backend, Spec("handle", "sleep", "300"));

        handle.Backend.ShouldBe("local");
        using JsonDocument json = JsonDocument.Parse(handle.Value);
        json.RootElement.GetProperty("pid").GetInt32().ShouldBeGreaterThan(1);
        json.RootElement.GetProperty("startTime").GetUInt64().ShouldBeGreaterThan(0UL);
        json.RootElement.GetProperty("dir").GetString().ShouldBe(Path.Combine(StateDir, "handle"));
    }

    [Theory]
    [InlineData("empty command")]
    [InlineData("empty program")]
    [InlineData("relative working directory")]
    [InlineData("missing working directory")]
    [InlineData("empty resource id")]
    [InlineData("dot resource id")]
    [InlineData("dot-dot resource id")]
    [InlineData("slash in resource id")]
    [InlineData("escaping resource id")]
    [InlineData("bad environment name")]
    [InlineData("image")]
    public async Task LaunchAsync_InvalidSpec_RejectedWithoutStartingAnything(string problem)
    {
        var backend = NewBackend();
        Dictionary<string, string> noEnvironment = new();
        LaunchSpec spec = problem switch
        {
            "empty command" => Spec("r"),
            "empty program" => Spec("r", ""),
            "relative working directory" => new LaunchSpec("r", ["/bin/true"], noEnvironment, "relative/dir"),
            "missing working directory" => new LaunchSpec("r", ["/bin/true"], noEnvironment, Path.Combine(Root, "missing")),
            "empty resource id" => Spec("", "/bin/true"),
            "dot resource id" => Spec(".", "/bin/true"),
            "dot-dot resource id" => Spec("..", "/bin/true"),
            "slash in resource id" => Spec("a/b", "/bin/true"),
            "escaping resource id" => Spec("../escaped", "/bin/true"),
            "bad environment name" => new LaunchSpec("r", ["/bin/true"], new Dictionary<string, string> { ["A=B"] = "c" }),
            "image" => Spec("r", "/bin/true") with { Image = "python:3.12" },
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        LaunchResult result = await backend.LaunchAsync(spec, None);

        result.Handle.ShouldBeNull();
        result.Error.ShouldNotBeNullOrWhiteSpace();
        Directory.Exists(Path.Combine(Root, "escaped")).ShouldBeFalse();
        Directory.Exists(Path.Combine(StateDir, "r")).ShouldBeFalse();
    }

    [Fact]
    public async Task LaunchAsync_RelativeStateDir_Rejected()
    {
        var backend = NewBackend(stateDir: "relative/run");

        LaunchResult result = await backend.LaunchAsync(Spec("r", "/bin/true"), None);

        result.Handle.ShouldBeNull();
        result.Error.ShouldNotBeNull().ShouldContain("StateDir");
    }
}
