using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Compute;

namespace Orrery.Backends.Local;

/// <summary>
/// Runs resources as child processes of the Orrery host, each in its own session and process group, with its
/// output and exit status in files under <c>&lt;StateDir&gt;/&lt;ResourceId&gt;/</c>. Everything but the
/// launch works from the handle alone, so a restarted Orrery picks up where the previous one left off.
/// </summary>
public sealed class LocalProcessBackend : IComputeBackend, IReportsEnds, IDisposable
{
    public const string BackendName = "local";

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan SessionPollInterval = TimeSpan.FromMilliseconds(2);
    // setsid() runs within microseconds of the exec; this only bounds a pathological case.
    private static readonly TimeSpan SessionWait = TimeSpan.FromSeconds(2);
    // After SIGKILL only uninterruptible sleep (e.g. a hung NFS mount) delays the end.
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    private readonly LocalBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalProcessBackend> _logger;
    private readonly ChildReaper _children;
    private bool _disposed;

    public LocalProcessBackend(IOptions<LocalBackendOptions> options, TimeProvider timeProvider, ILogger<LocalProcessBackend> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _children = new ChildReaper(() => ResourceEnded?.Invoke());
    }

    /// <summary>Raised when a child this process started exits (re-attached ones are seen at the next observation).</summary>
    public event Action? ResourceEnded;

    private enum Leader
    {
        Running,
        Ended,
        /// <summary>The pid is alive but belongs to a different process than the one we started.</summary>
        Reused,
    }

    public string Name => BackendName;

    public async Task<LaunchResult> LaunchAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        if (!OperatingSystem.IsLinux())
        {
            return Reject(spec, "The local backend needs Linux (/proc and setsid).");
        }

        if (LaunchValidation.Validate(spec, _options.StateDir) is { } invalid)
        {
            return Reject(spec, invalid);
        }

        string dir = Path.Combine(Path.GetFullPath(_options.StateDir), spec.ResourceId);
        try
        {
            Directory.CreateDirectory(_options.StateDir, OwnerOnlyDirectory);
            Directory.CreateDirectory(dir, OwnerOnlyDirectory);
            // An existing directory (a launch retried after a crash) is tightened too.
            File.SetUnixFileMode(dir, OwnerOnlyDirectory);
            // A status left by an earlier attempt must never be read as this one's.
            File.Delete(Path.Combine(dir, LocalHandle.ExitFileName));
            File.Delete(Path.Combine(dir, LocalHandle.ExitFileName + ".tmp"));
            // Created here so the log is private and exists as soon as the launch returns.
            using (File.Open(Path.Combine(dir, LocalHandle.LogFileName), new FileStreamOptions
                   { Mode = FileMode.Append, Access = FileAccess.Write, UnixCreateMode = OwnerOnlyFile }))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reject(spec, $"Cannot prepare the resource directory '{dir}': {e.Message}");
        }

        if (WrapperCommand.Create(spec, dir) is not { } startInfo)
        {
            return Reject(spec, "setsid (util-linux) was not found on the server's PATH; the local backend needs it.");
        }

        Process process = new() { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            return Reject(spec, $"Could not start the process: {e.Message}");
        }

        int pid = process.Id;
        _children.Track(pid, process);
        // From here on the program runs: ignore cancellation, or it would run with nobody holding its handle.
        ulong startTime = await WaitForSessionAsync(pid).ConfigureAwait(false);

        Log.Launched(_logger, spec.ResourceId, pid, dir);
        return LaunchResult.Started(new BackendHandle(Name, new LocalHandle(pid, startTime, dir).ToValue()));
    }

    public Task<BackendObservation> ObserveAsync(BackendHandle handle, CancellationToken cancellationToken) =>
        Task.FromResult(Parse(handle) is { } local ? Observe(local) : UnreadableHandle());

    public async Task<BackendObservation> StopAsync(BackendHandle handle, TimeSpan grace, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        if (Parse(handle) is not { } local)
        {
            return UnreadableHandle();
        }

        // Once the pid is someone else's, so is the process group of that number: never signal it.
        if (Classify(local) == Leader.Reused)
        {
            Log.PidReused(_logger, local.Pid);
            return Observe(local);
        }

        // The leader may be gone while children it left behind still run in its group; those get stopped too.
        if (!ProcessGroup.HasLiveMembers(local.Pid))
        {
            return Observe(local);
        }

        Log.Stopping(_logger, local.Pid, grace);
        Signal(local.Pid, Posix.SigTerm);
        if (await WaitForGroupToEndAsync(local.Pid, grace, cancellationToken).ConfigureAwait(false))
        {
            return Observe(local);
        }

        Log.Killing(_logger, local.Pid, grace);
        Signal(local.Pid, Posix.SigKill);
        if (!await WaitForGroupToEndAsync(local.Pid, KillWait, cancellationToken).ConfigureAwait(false))
        {
            Log.SurvivedKill(_logger, local.Pid);
        }

        BackendObservation final = Observe(local);
        return final.HasEnded
            ? final with { Reason = $"killed with SIGKILL after the {FormatDuration(grace)} stop grace period" }
            : final;
    }

    public Task<Stream?> OpenLogAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } local)
        {
            return Task.FromResult<Stream?>(null);
        }

        try
        {
            // ReadWrite sharing: the program is still appending to it.
            return Task.FromResult<Stream?>(new FileStream(local.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public async Task ForgetAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        if (Parse(handle) is not { } local)
        {
            return;
        }

        // Deleting the directory under a running program would lose its output and exit status: stop it first.
        // (A no-op for an ended resource whose group is empty.)
        TimeSpan grace = _options.StopGrace > TimeSpan.Zero ? _options.StopGrace : TimeSpan.Zero;
        await StopAsync(handle, grace, cancellationToken).ConfigureAwait(false);

        // The directory comes from stored data; delete recursively only what is plainly one of ours.
        if (!IsResourceDirectory(local.Dir))
        {
            Log.ForgetRefused(_logger, local.Dir, _options.StateDir);
            return;
        }

        try
        {
            Directory.Delete(local.Dir, recursive: true);
            Log.Forgot(_logger, local.Dir);
        }
        catch (DirectoryNotFoundException)
        {
            // Already forgotten.
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _children.Dispose();
        }
    }

    private static Leader Classify(LocalHandle handle) =>
        ProcStat.Read(handle.Pid) switch
        {
            null => Leader.Ended,
            // Start time 0: ours had ended before launch returned, so whoever has the pid now is not ours.
            { } stat when handle.StartTime == 0 || stat.StartTime != handle.StartTime => Leader.Reused,
            { HasEnded: true } => Leader.Ended,
            _ => Leader.Running,
        };

    private static BackendObservation Observe(LocalHandle handle)
    {
        Leader leader = Classify(handle);
        if (leader == Leader.Running)
        {
            return BackendObservation.Running;
        }

        // The wrapper writes the status before it exits, so a finished leader has left it if it could.
        if (ReadExitStatus(handle.ExitPath) is { } code)
        {
            return new BackendObservation(BackendState.Exited, code, Posix.DescribeExitStatus(code));
        }

        string pid = handle.Pid.ToString(CultureInfo.InvariantCulture);
        return new BackendObservation(BackendState.Lost, Reason: leader == Leader.Reused
            ? $"process {pid} is gone (its pid now belongs to another process) and recorded no exit status"
            : $"process {pid} is gone and recorded no exit status");
    }

    private static int? ReadExitStatus(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code)
                ? code
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static BackendObservation UnreadableHandle() =>
        new(BackendState.Lost, Reason: "the handle is not a readable local backend handle");

    private static string FormatDuration(TimeSpan duration) =>
        duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    private LocalHandle? Parse(BackendHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!string.Equals(handle.Backend, Name, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The handle belongs to backend '{handle.Backend}', not '{Name}'.", nameof(handle));
        }

        LocalHandle? local = LocalHandle.TryParse(handle.Value);
        if (local is null)
        {
            Log.UnreadableHandle(_logger, handle.Value);
        }

        return local;
    }

    private LaunchResult Reject(LaunchSpec spec, string error)
    {
        Log.LaunchRejected(_logger, spec.ResourceId, error);
        return LaunchResult.Rejected(error);
    }

    /// <summary>Waits until setsid has made the child a session leader, and returns its start time (0 if already gone).</summary>
    private async Task<ulong> WaitForSessionAsync(int pid)
    {
        long started = _time.GetTimestamp();
        while (true)
        {
            if (ProcStat.Read(pid) is not { } stat)
            {
                return 0;
            }

            if (stat.Session == pid || stat.HasEnded)
            {
                return stat.StartTime;
            }

            if (_time.GetElapsedTime(started) >= SessionWait)
            {
                Log.NotSessionLeader(_logger, pid);
                return stat.StartTime;
            }

            await Task.Delay(SessionPollInterval, _time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Polls until no process of the group runs; false when <paramref name="timeout"/> passes first.</summary>
    private async Task<bool> WaitForGroupToEndAsync(int processGroup, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        while (ProcessGroup.HasLiveMembers(processGroup))
        {
            TimeSpan left = timeout - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await Task.Delay(left < PollInterval ? left : PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private void Signal(int processGroup, int signal)
    {
        int errno = Posix.KillGroup(processGroup, signal);
        // ESRCH: the group ended on its own in the meantime, which is what we want.
        if (errno is not (0 or Posix.Esrch))
        {
            Log.SignalFailed(_logger, signal, processGroup, errno);
        }
    }

    private bool IsResourceDirectory(string dir)
    {
        if (!Path.IsPathFullyQualified(_options.StateDir))
        {
            return false;
        }

        string stateDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.StateDir));
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        return string.Equals(Path.GetDirectoryName(full), stateDir, StringComparison.Ordinal)
            && LaunchValidation.IsSafeResourceId(Path.GetFileName(full));
    }
}
