using System.Runtime.Versioning;
using Orrery.Backends.Local;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends.Local;

[SupportedOSPlatform("linux")]
public class LocalProcessBackendObserveTests : LocalBackendTestBase
{
    [Fact]
    public async Task ObserveAsync_ProgramExits_RecordsExitCode()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("exit7", "/bin/sh", "-c", "exit 7"));

        var observation = await WaitForEndAsync(backend, handle);
        observation.ShouldBe(new BackendObservation(BackendState.Exited, 7));
    }

    [Fact]
    public async Task ObserveAsync_NonexistentProgram_Exited127()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("missing", "/nonexistent/program", "arg"));

        var observation = await WaitForEndAsync(backend, handle);
        observation.State.ShouldBe(BackendState.Exited);
        observation.ExitCode.ShouldBe(127);
    }

    [Fact]
    public async Task ObserveAsync_LongRunningProgram_Running()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("sleeper", "sleep", "300"));

        (await backend.ObserveAsync(handle, None)).ShouldBe(BackendObservation.Running);
    }

    [Fact]
    public async Task OpenLogAsync_StdoutAndStderr_BothInOneCombinedLog()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("both", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; echo again"));
        await WaitForEndAsync(backend, handle);

        (await ReadLogAsync(backend, handle)).ShouldBe("to-stdout\nto-stderr\nagain\n");
        File.Exists(Path.Combine(StateDir, "both", "output.log")).ShouldBeTrue();
    }

    [Fact]
    public async Task OpenLogAsync_ProgramStillRunning_ReadsOutputSoFar()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("growing", "/bin/sh", "-c", "echo first; sleep 300"));

        await WaitForLogAsync(backend, handle, "first\n");
        (await backend.ObserveAsync(handle, None)).State.ShouldBe(BackendState.Running);
    }

    [Fact]
    public async Task ObserveAsync_NewBackendInstance_ReattachesAndStops()
    {
        var first = NewBackend();
        var handle = await LaunchAsync(first, Spec("reattach", "/bin/sh", "-c", "echo ready; sleep 300"));
        await WaitForLogAsync(first, handle, "ready");
        // Only the stored handle survives a restart: a brand-new instance must do everything from it.
        var stored = new BackendHandle(handle.Backend, handle.Value);
        var second = NewBackend();

        (await second.ObserveAsync(stored, None)).ShouldBe(BackendObservation.Running);
        var stopped = await second.StopAsync(stored, TimeSpan.FromSeconds(5), None);

        stopped.ShouldBe(new BackendObservation(BackendState.Exited, 143, "killed by signal 15 (SIGTERM)"));
        (await second.ObserveAsync(stored, None)).ShouldBe(stopped);
    }

    [Fact]
    public async Task ObserveAsync_ExitWhileBackendDisposed_ExitedWithCode()
    {
        var first = NewBackend();
        var handle = await LaunchAsync(first, Spec("while-down", "/bin/sh", "-c", "sleep 0.3; exit 3"));
        first.Dispose();

        var second = NewBackend();
        var observation = await WaitForEndAsync(second, handle);

        observation.ShouldBe(new BackendObservation(BackendState.Exited, 3));
    }

    [Fact]
    public async Task ObserveAsync_PidReusedByAnotherProcess_NotRunning()
    {
        var backend = NewBackend();
        int pid = Environment.ProcessId;
        ulong startTime = ProcStat.Read(pid).ShouldNotBeNull().StartTime;
        string dir = Path.Combine(StateDir, "reused");
        // The test process is alive under this pid; only the start time tells it is not "ours".
        var genuine = new BackendHandle("local", new LocalHandle(pid, startTime, dir).ToValue());
        var forged = new BackendHandle("local", new LocalHandle(pid, startTime + 1, dir).ToValue());

        (await backend.ObserveAsync(genuine, None)).State.ShouldBe(BackendState.Running);
        var observation = await backend.ObserveAsync(forged, None);

        observation.State.ShouldBe(BackendState.Lost);
        observation.Reason.ShouldNotBeNull().ShouldContain("another process");
    }

    [Fact]
    public async Task ObserveAsync_ChildExits_ReapedSoNoZombieRemains()
    {
        var backend = NewBackend();

        var handle = await LaunchAsync(backend, Spec("reap", "/bin/sh", "-c", "exit 0"));
        (await WaitForEndAsync(backend, handle)).Succeeded.ShouldBeTrue();

        int pid = PidOf(handle);
        await WaitUntilAsync(() => ProcStat.Read(pid) is not { State: 'Z' }, "the child to be reaped");
    }

    [Fact]
    public async Task ObserveAsync_UnreadableOrUnsafeHandle_Lost()
    {
        var backend = NewBackend();

        (await backend.ObserveAsync(new BackendHandle("local", "not json"), None)).State.ShouldBe(BackendState.Lost);
        (await backend.ObserveAsync(new BackendHandle("local", """{"pid":1,"startTime":1,"dir":"/tmp"}"""), None)).State.ShouldBe(BackendState.Lost);
        (await backend.ObserveAsync(new BackendHandle("local", """{"pid":0,"startTime":1,"dir":"/tmp"}"""), None)).State.ShouldBe(BackendState.Lost);
    }

    [Fact]
    public async Task ObserveAsync_OtherBackendsHandle_Throws()
    {
        var backend = NewBackend();

        await Should.ThrowAsync<ArgumentException>(() => backend.ObserveAsync(new BackendHandle("slurm", "123"), None));
    }
}
