using System.Globalization;
using System.Runtime.Versioning;
using Orrery.Backends.Local;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends.Local;

[SupportedOSPlatform("linux")]
public class LocalProcessBackendStopTests : LocalBackendTestBase
{
    [Fact]
    public async Task StopAsync_ProgramHonoursTerm_ExitedBySigterm()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("term", "/bin/sh", "-c", "echo ready; sleep 300"));
        await WaitForLogAsync(backend, handle, "ready");

        var observation = await backend.StopAsync(handle, TimeSpan.FromSeconds(5), None);

        observation.ShouldBe(new BackendObservation(BackendState.Exited, 143, "killed by signal 15 (SIGTERM)"));
    }

    [Fact]
    public async Task StopAsync_GrandchildRunning_WholeProcessGroupStopped()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("group", "/bin/sh", "-c", "sleep 300 & echo $! > child.pid; wait"));
        string pidFile = Path.Combine(StateDir, "group", "child.pid");
        await WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), "the grandchild's pid");
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        IsRunning(grandchild).ShouldBeTrue();

        var observation = await backend.StopAsync(handle, TimeSpan.FromSeconds(5), None);

        observation.HasEnded.ShouldBeTrue();
        // An orphaned grandchild may linger as a zombie until init reaps it, but it no longer runs.
        IsRunning(grandchild).ShouldBeFalse();
    }

    [Fact]
    public async Task StopAsync_ProgramIgnoresTerm_KilledWithSigkillAfterGrace()
    {
        var backend = NewBackend();
        // trap "" is inherited by sleep, so the whole program ignores SIGTERM.
        var handle = await LaunchAsync(backend, Spec("stubborn", "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 300"));
        await WaitForLogAsync(backend, handle, "ready");

        var observation = await backend.StopAsync(handle, TimeSpan.FromSeconds(1), None);

        observation.HasEnded.ShouldBeTrue();
        observation.Reason.ShouldBe("killed with SIGKILL after the 1s stop grace period");
        (await backend.ObserveAsync(handle, None)).HasEnded.ShouldBeTrue();
    }

    [Fact]
    public async Task StopAsync_AlreadyEnded_ReturnsObservationWithoutError()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("done", "/bin/sh", "-c", "exit 4"));
        await WaitForEndAsync(backend, handle);

        var observation = await backend.StopAsync(handle, TimeSpan.FromSeconds(1), None);

        observation.ShouldBe(new BackendObservation(BackendState.Exited, 4));
    }

    [Fact]
    public async Task StopAsync_PidReusedByAnotherProcess_DoesNotSignalIt()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("victim", "/bin/sh", "-c", "echo ready; sleep 300"));
        await WaitForLogAsync(backend, handle, "ready");
        var genuine = LocalHandle.TryParse(handle.Value).ShouldNotBeNull();
        // Same pid (a live process group leader), different start time: a handle from a previous life of the pid.
        var forged = new BackendHandle("local", (genuine with { StartTime = genuine.StartTime + 1 }).ToValue());

        var observation = await backend.StopAsync(forged, TimeSpan.Zero, None);

        observation.State.ShouldNotBe(BackendState.Running);
        (await backend.ObserveAsync(handle, None)).ShouldBe(BackendObservation.Running);
    }

    [Fact]
    public async Task StopAsync_Cancelled_ThrowsWhileWaitingForGrace()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("cancel", "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 300"));
        await WaitForLogAsync(backend, handle, "ready");
        using CancellationTokenSource cancellation = new();
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backend.StopAsync(handle, TimeSpan.FromMinutes(5), cancellation.Token));
    }

    [Fact]
    public async Task StopAsync_UnsafeHandle_LostAndNothingSignalled()
    {
        var backend = NewBackend();

        // Pid 0 or 1 would make kill(-pid) hit our own group or every process: such handles are refused.
        var observation = await backend.StopAsync(new BackendHandle("local", """{"pid":0,"startTime":0,"dir":"/tmp"}"""), TimeSpan.Zero, None);

        observation.State.ShouldBe(BackendState.Lost);
    }

    [Fact]
    public async Task ForgetAsync_RunningResource_StopsItAndDeletesDirectory()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("forget", "/bin/sh", "-c", "echo ready; sleep 300"));
        await WaitForLogAsync(backend, handle, "ready");

        await backend.ForgetAsync(handle, None);

        Directory.Exists(Path.Combine(StateDir, "forget")).ShouldBeFalse();
        (await backend.ObserveAsync(handle, None)).State.ShouldBe(BackendState.Lost);
        (await backend.OpenLogAsync(handle, None)).ShouldBeNull();
    }

    [Fact]
    public async Task ForgetAsync_CalledTwice_Idempotent()
    {
        var backend = NewBackend();
        var handle = await LaunchAsync(backend, Spec("twice", "/bin/true"));
        await WaitForEndAsync(backend, handle);

        await backend.ForgetAsync(handle, None);
        await backend.ForgetAsync(handle, None);

        Directory.Exists(Path.Combine(StateDir, "twice")).ShouldBeFalse();
    }

    [Fact]
    public async Task ForgetAsync_DirectoryOutsideStateDir_LeftAlone()
    {
        var backend = NewBackend();
        string outside = Directory.CreateDirectory(Path.Combine(Root, "precious")).FullName;
        File.WriteAllText(Path.Combine(outside, "keep.txt"), "keep");
        // The test process as a "reused" pid, so nothing is signalled either.
        var handle = new BackendHandle("local", new LocalHandle(Environment.ProcessId, 1, outside).ToValue());

        await backend.ForgetAsync(handle, None);

        File.Exists(Path.Combine(outside, "keep.txt")).ShouldBeTrue();
    }
}
