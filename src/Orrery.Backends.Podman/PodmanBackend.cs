using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Compute;

namespace Orrery.Backends.Podman;

/// <summary>
/// Runs resources as Podman containers: <c>podman run</c> to launch (the launch's command replacing the image's
/// entrypoint, its working directory the one host directory mounted, its limits as cgroup limits), <c>podman inspect</c>
/// to observe, <c>podman stop</c> to stop, the container's own output kept by conmon in a file under the state
/// directory for logs. Containers are kept after they exit, so their exit status stays readable until
/// <see cref="ForgetAsync"/>; the handle (container id and directory) is all it needs, so running containers are
/// re-attached after an Orrery restart.
/// </summary>
public sealed class PodmanBackend : IComputeBackend, IReportsEnds, IDisposable
{
    public const string BackendName = ContainerImages.Backend;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // One failed inspect (podman busy, a lock held by another podman) is retried once before the container counts as lost.
    private static readonly TimeSpan InspectRetryDelay = TimeSpan.FromSeconds(1);
    // After SIGKILL only uninterruptible sleep delays the end.
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    private readonly PodmanBackendOptions _options;
    private readonly PodmanCommands _commands;
    private readonly PodmanEndWatcher _ends;
    private readonly ILogger<PodmanBackend> _logger;

    public PodmanBackend(IOptions<PodmanBackendOptions> options, ILogger<PodmanBackend> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _commands = new PodmanCommands(_options);
        _logger = logger;
        _ends = new PodmanEndWatcher(_commands, () => ResourceEnded?.Invoke(), logger);
    }

    /// <summary>Raised when a container Orrery started dies (from <c>podman events</c>), re-attached ones included.</summary>
    public event Action? ResourceEnded;

    public string Name => BackendName;

    public async Task<LaunchResult> LaunchAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (PodmanRun.Validate(spec) is { } invalid)
            return Reject(spec, invalid);
        if (!Path.IsPathFullyQualified(_options.StateDir))
            return Reject(spec, $"The Podman backend's state directory ({PodmanBackendOptions.SectionName}:StateDir) must be an absolute path; it is '{_options.StateDir}'.");
        var directory = Path.Combine(Path.GetFullPath(_options.StateDir), spec.ResourceId);
        try
        {
            Directory.CreateDirectory(_options.StateDir, OwnerOnly);
            Directory.CreateDirectory(directory, OwnerOnly);
            File.SetUnixFileMode(directory, OwnerOnly);   // also an existing one (a launch retried after a crash)
            File.Delete(Path.Combine(directory, PodmanHandle.LogFileName));   // an earlier attempt's output is not this one's
            EndedRecord.Delete(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reject(spec, $"Cannot prepare the resource directory '{directory}': {e.Message}");
        }

        _ends.EnsureStarted();
        var name = PodmanRun.ContainerName(spec.ResourceId);
        var run = PodmanRun.Build(spec, directory, _options.Network);
        // From here on a container may exist: no cancellation, or it could run with nobody holding its handle.
        var result = await _commands.RunAsync(run.Arguments, CancellationToken.None, run.Environment);
        if (!result.Succeeded && result.Error.Contains("already in use", StringComparison.Ordinal))
        {
            // The name is the resource's: a container that has it was started by a launch of this resource whose handle
            // was never recorded (Orrery stopped in between), so nothing tracks it.
            await RemoveAsync(name);
            _logger.RemovedLeftover(name);
            result = await _commands.RunAsync(run.Arguments, CancellationToken.None, run.Environment);
        }
        var containerId = result.Output.Split('\n')[^1].Trim();
        if (!result.Succeeded || containerId.Length == 0 || !containerId.All(char.IsAsciiHexDigit))
        {
            // podman may have created the container before failing to start it (e.g. a program the image does not have).
            await RemoveAsync(name);
            return Reject(spec, result.Succeeded
                ? $"podman run answered '{result.Output}', not a container id."
                : $"podman could not start the container: {result.Message}");
        }
        _logger.Launched(spec.ResourceId, containerId, spec.Image!);
        return LaunchResult.Started(new BackendHandle(Name, new PodmanHandle(containerId, directory).Serialize()));
    }

    public async Task<BackendObservation> ObserveAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } container)
            return UnreadableHandle();
        _ends.EnsureStarted();
        var inspected = await InspectAsync(container.ContainerId, cancellationToken);
        if (!inspected.Succeeded && !inspected.NoSuchContainer)
        {
            _logger.InspectFailed(container.ContainerId, inspected.Message);
            await Task.Delay(InspectRetryDelay, cancellationToken);
            inspected = await InspectAsync(container.ContainerId, cancellationToken);
        }
        if (inspected.NoSuchContainer)
            return EndedRecord.Read(container.Dir)
                   ?? new BackendObservation(BackendState.Lost, null, $"container {Short(container.ContainerId)} no longer exists (removed outside Orrery?)");
        if (!inspected.Succeeded)
            return new BackendObservation(BackendState.Lost, null, $"podman inspect failed: {inspected.Message}");
        BackendObservation seen;
        try
        {
            seen = PodmanInspect.Observe(inspected.Output);
        }
        catch (JsonException e)
        {
            return new BackendObservation(BackendState.Lost, null, $"podman inspect's answer is unreadable: {e.Message}");
        }
        if (seen.HasEnded && IsResourceDirectory(container.Dir))
        {
            // Its end is recorded next to its log; the container itself has nothing more to tell.
            EndedRecord.Write(container.Dir, seen);
            await RemoveAsync(container.ContainerId);
        }
        return seen;
    }

    public async Task<BackendObservation> StopAsync(BackendHandle handle, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } container)
            return UnreadableHandle();
        grace = grace < TimeSpan.Zero ? TimeSpan.Zero : grace;
        var seconds = ((long)Math.Ceiling(grace.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        _logger.Stopping(container.ContainerId, grace);
        // podman sends the stop signal, waits the grace period, then SIGKILL, and says so on stderr when it had to.
        var stop = await _commands.RunAsync(["stop", "--time", seconds, container.ContainerId], cancellationToken, extraTime: grace);
        var killed = stop.Error.Contains("resorting to SIGKILL", StringComparison.Ordinal);
        if (!stop.Succeeded && !stop.NoSuchContainer)
            _logger.StopFailed(container.ContainerId, stop.Message);

        var seen = await ObserveAsync(handle, cancellationToken);
        if (seen.State == BackendState.Queued)
        {
            // Created but never started: nothing to signal, and removing it makes sure it never starts.
            await RemoveAsync(container.ContainerId);
            return new BackendObservation(BackendState.Exited, null, "stopped before the container started");
        }
        if (seen.State == BackendState.Running)
        {
            // podman stop failed or timed out: force it once more before giving up.
            await _commands.RunAsync(["kill", "--signal", "KILL", container.ContainerId], cancellationToken);
            seen = await WaitEndedAsync(handle, cancellationToken);
            killed = true;
            if (!seen.HasEnded)
                return new BackendObservation(BackendState.Lost, null, $"podman could not stop container {Short(container.ContainerId)}: {stop.Message}");
        }
        return killed && seen.State == BackendState.Exited
            ? seen with { Reason = $"killed with SIGKILL after the {grace.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s stop grace period" }
            : seen;
    }

    public Task<Stream?> OpenLogAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } container)
            return Task.FromResult<Stream?>(null);
        try
        {
            // ReadWrite sharing: conmon is still appending to it.
            var file = new FileStream(container.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return Task.FromResult<Stream?>(new KubernetesLogStream(file));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public async Task ForgetAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } container)
            return;
        // --ignore: a container already removed is what forgetting wants.
        var removed = await _commands.RunAsync(["rm", "--force", "--ignore", container.ContainerId], cancellationToken);
        if (!removed.Succeeded)
            _logger.RemoveFailed(container.ContainerId, removed.Message);
        // The directory comes from stored data: delete recursively only what is plainly one of ours.
        if (!IsResourceDirectory(container.Dir))
        {
            _logger.ForgetRefused(container.Dir, _options.StateDir);
            return;
        }
        try
        {
            Directory.Delete(container.Dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already forgotten.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.ForgetFailed(container.Dir, e.Message);
        }
    }

    public void Dispose() => _ends.Dispose();

    private Task<PodmanCommands.Result> InspectAsync(string containerId, CancellationToken cancellationToken) =>
        _commands.RunAsync(["container", "inspect", containerId], cancellationToken);

    /// <summary>Removes a container by name or id, killing it if it runs; a missing one is fine.</summary>
    private async Task RemoveAsync(string container)
    {
        var removed = await _commands.RunAsync(["rm", "--force", "--ignore", "--time", "0", container], CancellationToken.None);
        if (!removed.Succeeded)
            _logger.RemoveFailed(container, removed.Message);
    }

    private async Task<BackendObservation> WaitEndedAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + KillWait;
        while (true)
        {
            var seen = await ObserveAsync(handle, cancellationToken);
            if (seen.HasEnded || DateTimeOffset.UtcNow > deadline)
                return seen;
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private PodmanHandle? Parse(BackendHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var container = handle.Backend == Name ? PodmanHandle.TryParse(handle.Value) : null;
        if (container is null)
            _logger.UnreadableHandle(handle.Value);
        return container;
    }

    private static BackendObservation UnreadableHandle() =>
        new(BackendState.Lost, null, "the handle is not a readable podman backend handle");

    private static string Short(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;

    private bool IsResourceDirectory(string directory)
    {
        if (!Path.IsPathFullyQualified(_options.StateDir))
            return false;
        var stateDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.StateDir));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        return string.Equals(Path.GetDirectoryName(full), stateDir, StringComparison.Ordinal)
               && PodmanRun.IsSafeResourceId(Path.GetFileName(full));
    }

    private LaunchResult Reject(LaunchSpec spec, string error)
    {
        _logger.LaunchRejected(spec.ResourceId, error);
        return LaunchResult.Rejected(error);
    }
}
