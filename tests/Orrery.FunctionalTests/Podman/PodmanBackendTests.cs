using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orrery.Backends.Podman;
using Orrery.Core.Compute;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Podman;

/// <summary>
/// The Podman backend against real podman and the test base image (Debian bookworm with Python and Dask): exit
/// status and logs come from the container itself, variables reach the program without showing in podman's record of
/// the command, the working directory is the host's at the same path, stops are polite then forced, OOM kills are
/// reported, and a second backend instance (Orrery restarted) takes over a running container by its handle alone.
/// </summary>
[Collection("podman")]
public sealed class PodmanBackendTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("orrery-podman-test-").FullName;
    private readonly List<PodmanBackend> _backends = [];
    private readonly List<string> _resources = [];

    private string StateDir => Path.Combine(_root, "state");

    public void Dispose()
    {
        // Whatever a failed test left: its containers, then its files.
        foreach (var resource in _resources)
            PodmanCli.RunAsync("rm", "--force", "--ignore", "--time", "0", $"orrery-{resource}").GetAwaiter().GetResult();
        foreach (var backend in _backends)
            backend.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [PodmanFact]
    public async Task Program_PrintsAndExits3_LogFromTheContainer_Exited3()
    {
        var backend = NewBackend();
        // stdout and stderr are two pipes to conmon: the pause keeps their order in the log certain.
        const string program = "import sys, time; print('hello from the container', flush=True); time.sleep(0.2); print('to stderr', file=sys.stderr); sys.exit(3)";
        var handle = await LaunchAsync(backend, Spec(["python3", "-c", program]));

        (await PodmanCli.RunAsync("container", "inspect", "--format", "{{index .Config.Labels \"orrery.resource\"}} {{.Name}}", ContainerId(handle)))
            .Output.ShouldBe($"{_resources[^1]} orrery-{_resources[^1]}");
        var ended = await WaitEndedAsync(backend, handle);
        ended.State.ShouldBe(BackendState.Exited);
        ended.ExitCode.ShouldBe(3);
        ended.Reason.ShouldBeNull();
        (await ReadLogAsync(backend, handle)).ShouldBe("hello from the container\nto stderr\n");

        // Once its end is seen the container is removed; its end and its log stay, for this Orrery and the next.
        (await PodmanCli.RunAsync("container", "exists", ContainerId(handle))).ExitCode.ShouldBe(1);
        var again = await NewBackend().ObserveAsync(handle, CancellationToken.None);
        again.State.ShouldBe(BackendState.Exited);
        again.ExitCode.ShouldBe(3);
        (await ReadLogAsync(backend, handle)).ShouldBe("hello from the container\nto stderr\n");
    }

    [PodmanFact]
    public async Task Variables_ReachTheProgram_NotPodmansArgs_ImagePathApplies_NothingOfTheHosts()
    {
        var backend = NewBackend();
        var secret = "s3cret-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        // One word: with the entrypoint replaced, the image's CMD (/bin/bash) must not be appended either.
        var handle = await LaunchAsync(backend, Spec(["/usr/bin/env"], new Dictionary<string, string> { ["ORRERY_TEST_SECRET"] = secret, ["EMPTY_ONE"] = "" }));

        // Inspected before the backend sees the end (which removes the container).
        await Eventually.TrueAsync(async () => (await PodmanCli.RunAsync("container", "inspect", "--format", "{{.State.Status}}", ContainerId(handle))).Output == "exited");
        var args = await PodmanCli.RunAsync("container", "inspect", "--format", "{{json .Args}} {{json .Path}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}", ContainerId(handle));
        (await WaitEndedAsync(backend, handle)).ExitCode.ShouldBe(0);
        var env = (await ReadLogAsync(backend, handle)).Split('\n');
        env.ShouldContain($"ORRERY_TEST_SECRET={secret}");
        env.ShouldContain("EMPTY_ONE=");
        env.ShouldContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.ShouldNotContain(line => line.StartsWith("ORRERY_TEST_PODMAN=", StringComparison.Ordinal));   // the test process has it
        args.ExitCode.ShouldBe(0, args.Error);
        args.Output.ShouldNotContain(secret);
        args.Output.ShouldContain("/usr/bin/env");
        args.Output.ShouldNotContain("/bin/bash");
    }

    [PodmanFact]
    public async Task WorkingDirectory_MountedAtTheSamePath_TheProgramsFilesAreOnTheHost_NothingElseIs()
    {
        var backend = NewBackend();
        var work = Directory.CreateDirectory(Path.Combine(_root, "home", "alice")).FullName;
        var program = $"import os; open('written-inside.txt', 'w').write(os.getcwd()); print(os.path.exists({JsonSerializer.Serialize(StateDir)}))";
        var handle = await LaunchAsync(backend, Spec(["python3", "-c", program]) with { WorkingDirectory = work });

        (await WaitEndedAsync(backend, handle)).ExitCode.ShouldBe(0, await ReadLogAsync(backend, handle));
        (await File.ReadAllTextAsync(Path.Combine(work, "written-inside.txt"))).ShouldBe(work);
        (await ReadLogAsync(backend, handle)).ShouldBe("False\n");   // the state directory (next to it on the host) is not there
    }

    [PodmanFact]
    public async Task Log_FollowedOnOneStream_WhileTheContainerWrites()
    {
        var backend = NewBackend();
        const string program = "import sys, time\nfor i in range(5):\n    print(f'line {i}', flush=True); time.sleep(0.3)\nsys.stdout.write('no newline at the end'); sys.stdout.flush()";
        var handle = await LaunchAsync(backend, Spec(["python3", "-c", program]));

        await using var log = (await backend.OpenLogAsync(handle, CancellationToken.None)).ShouldNotBeNull();
        var text = new StringBuilder();
        var buffer = new byte[4096];
        var readsWhileRunning = 0;
        var ended = false;
        while (true)
        {
            var read = await log.ReadAsync(buffer);
            if (read > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
                readsWhileRunning += ended ? 0 : 1;
                continue;
            }
            if (ended)
                break;
            ended = (await backend.ObserveAsync(handle, CancellationToken.None)).HasEnded;   // then read what is left once more
            await Task.Delay(50);
        }
        text.ToString().ShouldBe("line 0\nline 1\nline 2\nline 3\nline 4\nno newline at the end");
        readsWhileRunning.ShouldBeGreaterThan(1, "the lines should arrive while the container runs");
    }

    [PodmanFact]
    public async Task Sleeper_NewBackendInstance_ReattachesByHandle_StopsPolitely_ThenForgets()
    {
        var first = NewBackend();
        var handle = await LaunchAsync(first, Spec(["python3", "-c", "import time; print('sleeping', flush=True); time.sleep(600)"]));
        (await first.ObserveAsync(handle, CancellationToken.None)).State.ShouldBe(BackendState.Running);
        first.Dispose();

        // Orrery restarted: a new instance knows nothing but the stored handle.
        var second = NewBackend();
        (await second.ObserveAsync(handle, CancellationToken.None)).State.ShouldBe(BackendState.Running);
        var stopped = await second.StopAsync(handle, TimeSpan.FromSeconds(10), CancellationToken.None);
        stopped.State.ShouldBe(BackendState.Exited);
        stopped.ExitCode.ShouldBe(143);   // SIGTERM's default action, as on the host (the init process passed it on)
        stopped.Reason.ShouldBeNull();
        (await ReadLogAsync(second, handle)).ShouldBe("sleeping\n");

        await second.ForgetAsync(handle, CancellationToken.None);
        (await PodmanCli.RunAsync("container", "exists", ContainerId(handle))).ExitCode.ShouldBe(1);
        Directory.Exists(HandleDir(handle)).ShouldBeFalse();
        await second.ForgetAsync(handle, CancellationToken.None);   // idempotent
        var gone = await second.ObserveAsync(handle, CancellationToken.None);
        gone.State.ShouldBe(BackendState.Lost);
        gone.Reason.ShouldNotBeNull().ShouldContain("no longer exists");
        (await second.OpenLogAsync(handle, CancellationToken.None)).ShouldBeNull();
    }

    [PodmanFact]
    public async Task Stop_ProgramIgnoringSigterm_KilledAfterTheGrace_ReasonSaysSo()
    {
        var backend = NewBackend();
        const string program = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True); time.sleep(600)";
        var handle = await LaunchAsync(backend, Spec(["python3", "-c", program]));
        await Eventually.TrueAsync(async () => (await ReadLogAsync(backend, handle)).Contains("ignoring", StringComparison.Ordinal));

        var stopped = await backend.StopAsync(handle, TimeSpan.FromSeconds(1), CancellationToken.None);
        stopped.State.ShouldBe(BackendState.Exited);
        stopped.ExitCode.ShouldBe(137);
        stopped.Reason.ShouldNotBeNull().ShouldContain("killed with SIGKILL after the 1 s stop grace period");
    }

    [PodmanFact]
    public async Task OverItsMemoryLimit_EndsOutOfMemory()
    {
        var backend = NewBackend();
        const string hog = "import time; print('allocating', flush=True); b = bytearray(300 * 1024 * 1024); time.sleep(2); print('survived')";
        var handle = await LaunchAsync(backend, Spec(["python3", "-c", hog]) with { Resources = new ResourceRequest(MemoryBytes: 50 * 1024 * 1024) });

        var ended = await WaitEndedAsync(backend, handle);
        ended.State.ShouldBe(BackendState.Exited);
        (ended.ExitCode == 137 || ended.Reason?.Contains("OOMKilled", StringComparison.Ordinal) == true).ShouldBeTrue($"{ended}");
        ended.Reason.ShouldNotBeNull().ShouldContain("50 MiB");
        (await ReadLogAsync(backend, handle)).ShouldBe("allocating\n");
    }

    [PodmanFact]
    public async Task EndsAreReported_WithoutWaitingForAnObservation()
    {
        var backend = NewBackend();
        using var reported = new SemaphoreSlim(0);
        backend.ResourceEnded += () => reported.Release();
        await LaunchAsync(backend, Spec(["python3", "-c", "import time; time.sleep(1)"]));
        (await reported.WaitAsync(TimeSpan.FromSeconds(20))).ShouldBeTrue("podman events should have reported the container's end");
    }

    [PodmanFact]
    public async Task NoImage_Rejected_NoContainer()
    {
        var backend = NewBackend();
        var spec = Spec(["true"]) with { Image = null };
        var result = await backend.LaunchAsync(spec, CancellationToken.None);
        result.Handle.ShouldBeNull();
        result.Error.ShouldNotBeNull().ShouldContain("container image");
        (await PodmanCli.RunAsync("container", "exists", $"orrery-{spec.ResourceId}")).ExitCode.ShouldBe(1);
    }

    [PodmanFact]
    public async Task UnknownImage_RejectedWithPodmansMessage_NoPull_NoContainer()
    {
        var backend = NewBackend();
        var spec = Spec(["true"]) with { Image = "localhost/orrery-no-such-image:1" };
        var result = await backend.LaunchAsync(spec, CancellationToken.None);
        result.Handle.ShouldBeNull();
        result.Error.ShouldNotBeNull().ShouldContain("image not known");
        (await PodmanCli.RunAsync("container", "exists", $"orrery-{spec.ResourceId}")).ExitCode.ShouldBe(1);
    }

    private PodmanBackend NewBackend()
    {
        var backend = new PodmanBackend(Options.Create(new PodmanBackendOptions
        {
            Enabled = true,
            StateDir = StateDir,
            // The backend's own setting, not just the inherited variable (scripts/podman.sh env exports it).
            ConfigFile = Environment.GetEnvironmentVariable("CONTAINERS_CONF") ?? "",
        }), NullLogger<PodmanBackend>.Instance);
        _backends.Add(backend);
        return backend;
    }

    private LaunchSpec Spec(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var id = "ptest-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        _resources.Add(id);
        return new LaunchSpec(id, command, environment ?? new Dictionary<string, string>()) { Image = PodmanCli.BaseImage };
    }

    private static async Task<BackendHandle> LaunchAsync(PodmanBackend backend, LaunchSpec spec)
    {
        var result = await backend.LaunchAsync(spec, CancellationToken.None);
        result.Error.ShouldBeNull();
        return result.Handle.ShouldNotBeNull();
    }

    private static async Task<BackendObservation> WaitEndedAsync(PodmanBackend backend, BackendHandle handle, int seconds = 30)
    {
        BackendObservation seen = BackendObservation.Running;
        await Eventually.TrueAsync(async () => (seen = await backend.ObserveAsync(handle, CancellationToken.None)).HasEnded, seconds);
        return seen;
    }

    private static async Task<string> ReadLogAsync(PodmanBackend backend, BackendHandle handle)
    {
        await using var log = await backend.OpenLogAsync(handle, CancellationToken.None);
        if (log is null)
            return "";
        using var reader = new StreamReader(log);
        return await reader.ReadToEndAsync();
    }

    private static string ContainerId(BackendHandle handle) => JsonDocument.Parse(handle.Value).RootElement.GetProperty("ContainerId").GetString()!;

    private static string HandleDir(BackendHandle handle) => JsonDocument.Parse(handle.Value).RootElement.GetProperty("Dir").GetString()!;
}
