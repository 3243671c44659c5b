using System.Globalization;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orrery.Backends.Local;
using Orrery.Core.Compute;

namespace Orrery.Tests.Backends.Local;

/// <summary>
/// Each test gets its own temporary state directory; every resource launched through <see cref="LaunchAsync"/>
/// is killed and the directory removed afterwards, so no test leaves processes behind.
/// </summary>
[SupportedOSPlatform("linux")]
public abstract class LocalBackendTestBase : IAsyncLifetime
{
    /// <summary>Upper bound for every wait, so a broken backend fails a test instead of hanging it.</summary>
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly List<LocalProcessBackend> _backends = [];
    private readonly List<BackendHandle> _launched = [];

    protected LocalBackendTestBase()
    {
        Root = Path.Combine(Path.GetTempPath(), "orrery-local-" + Guid.NewGuid().ToString("N"));
        StateDir = Path.Combine(Root, "run");
        Directory.CreateDirectory(Root);
    }

    /// <summary>Scratch directory of the test; <see cref="StateDir"/> lives inside it.</summary>
    protected string Root { get; }

    protected string StateDir { get; }

    protected static CancellationToken None => CancellationToken.None;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using LocalProcessBackend cleaner = CreateBackend(StateDir);
        foreach (BackendHandle handle in _launched)
        {
            await cleaner.StopAsync(handle, TimeSpan.Zero, None);
        }

        foreach (LocalProcessBackend backend in _backends)
        {
            backend.Dispose();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>A fresh backend instance over this test's state directory, as after an Orrery restart.</summary>
    protected LocalProcessBackend NewBackend(string? stateDir = null)
    {
        LocalProcessBackend backend = CreateBackend(stateDir ?? StateDir);
        _backends.Add(backend);
        return backend;
    }

    protected static LaunchSpec Spec(string resourceId, params string[] command) =>
        new(resourceId, command, new Dictionary<string, string>());

    /// <summary>Launches and expects success; the resource is killed when the test ends.</summary>
    protected async Task<BackendHandle> LaunchAsync(IComputeBackend backend, LaunchSpec spec)
    {
        LaunchResult result = await backend.LaunchAsync(spec, None);
        result.Error.ShouldBeNull();
        BackendHandle handle = result.Handle.ShouldNotBeNull();
        _launched.Add(handle);
        return handle;
    }

    protected static int PidOf(BackendHandle handle) => LocalHandle.TryParse(handle.Value).ShouldNotBeNull().Pid;

    protected static async Task<BackendObservation> WaitForEndAsync(IComputeBackend backend, BackendHandle handle)
    {
        BackendObservation observation = BackendObservation.Running;
        await WaitUntilAsync(async () => (observation = await backend.ObserveAsync(handle, None)).HasEnded, "the resource to end");
        return observation;
    }

    protected static async Task<string> ReadLogAsync(IComputeBackend backend, BackendHandle handle)
    {
        await using Stream log = (await backend.OpenLogAsync(handle, None)).ShouldNotBeNull();
        using StreamReader reader = new(log);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Waits until the program has written <paramref name="marker"/>, i.e. has set itself up.</summary>
    protected static Task WaitForLogAsync(IComputeBackend backend, BackendHandle handle, string marker) =>
        WaitUntilAsync(async () => (await ReadLogAsync(backend, handle)).Contains(marker, StringComparison.Ordinal), $"'{marker}' in the log");

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        DateTime giveUp = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            if (DateTime.UtcNow > giveUp)
            {
                throw new TimeoutException($"Gave up waiting for {what} after {Deadline.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s.");
            }

            await Task.Delay(20);
        }
    }

    protected static Task WaitUntilAsync(Func<bool> condition, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what);

    /// <summary>True while <paramref name="pid"/> is a running (not zombie) process.</summary>
    protected static bool IsRunning(int pid) => ProcStat.Read(pid) is { HasEnded: false };

    private static LocalProcessBackend CreateBackend(string stateDir) =>
        new(
            Options.Create(new LocalBackendOptions { StateDir = stateDir, StopGrace = TimeSpan.FromSeconds(1) }),
            TimeProvider.System,
            NullLogger<LocalProcessBackend>.Instance);
}
