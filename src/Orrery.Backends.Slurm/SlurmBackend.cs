using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Compute;

namespace Orrery.Backends.Slurm;

/// <summary>
/// Runs resources as Slurm batch jobs: <c>sbatch</c> to launch, <c>squeue</c> and <c>scontrol</c> to observe (parsing
/// their text output), <c>scancel</c> to stop, the job's output file for logs. The handle (job id and directory) is
/// all it needs, so running jobs are re-attached after an Orrery restart; the exit-status file the batch script writes
/// gives the real exit code even once Slurm has forgotten the job.
/// </summary>
public sealed class SlurmBackend : IComputeBackend
{
    public const string BackendName = "slurm";

    private static readonly TimeSpan StopPoll = TimeSpan.FromMilliseconds(500);

    private readonly SlurmBackendOptions _options;
    private readonly SlurmCommands _commands;
    private readonly TimeProvider _time;
    private readonly ILogger<SlurmBackend> _logger;

    public SlurmBackend(IOptions<SlurmBackendOptions> options, TimeProvider time, ILogger<SlurmBackend> logger)
    {
        _options = options.Value;
        _commands = new SlurmCommands(_options);
        _time = time;
        _logger = logger;
    }

    public string Name => BackendName;

    public async Task<LaunchResult> LaunchAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Image is not null)
            return LaunchResult.Rejected($"The Slurm backend runs programs on the nodes' hosts; it cannot run in image '{spec.Image}'.");
        if (spec.Command.Count == 0)
            return LaunchResult.Rejected("Nothing to run: the command is empty.");
        var directory = Path.Combine(Path.GetFullPath(_options.StateDir), spec.ResourceId);
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(directory, ownerOnly);
        File.Delete(Path.Combine(directory, SlurmBatchScript.ExitFileName));
        var workingDirectory = spec.WorkingDirectory ?? directory;
        var script = Path.Combine(directory, SlurmBatchScript.ScriptFileName);
        await File.WriteAllTextAsync(script, SlurmBatchScript.Write(spec, directory, workingDirectory), cancellationToken);
        File.SetUnixFileMode(script, ownerOnly);   // it holds the launch's secrets (tokens)
        // The output file exists from the launch on (Slurm appends to it once the job starts), so a log followed while the
        // job is still queued waits for its lines instead of finding nothing.
        File.WriteAllBytes(Path.Combine(directory, SlurmBatchScript.OutputFileName), []);

        var result = await _commands.RunAsync("sbatch", SlurmBatchScript.SbatchArguments(spec, directory, workingDirectory, _options),
            cancellationToken, bareEnvironment: true);
        if (result.ExitCode != 0)
            return LaunchResult.Rejected($"Slurm refused the job: {(result.Error.Length > 0 ? result.Error : result.Output)}");
        var jobId = result.Output.Split(';')[0].Trim();
        if (!long.TryParse(jobId, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return LaunchResult.Rejected($"sbatch answered '{result.Output}', not a job id");
        _logger.SlurmSubmitted(spec.ResourceId, jobId);
        return LaunchResult.Started(new BackendHandle(Name, new SlurmHandle(jobId, directory).Serialize()));
    }

    public async Task<BackendObservation> ObserveAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        var slurm = SlurmHandle.Parse(handle);
        var queued = await _commands.RunAsync("squeue", ["-h", "-j", slurm.JobId, "-o", "%T|%r"], cancellationToken);
        var (state, pendingReason) = queued.ExitCode == 0 && queued.Output.Split('|', 2) is [var s, var r] ? (s, r) : ("", "");
        if (state == "PENDING" && SlurmJobState.NeverStarts(pendingReason))
        {
            // Accepted by sbatch (a partition without EnforcePartLimits) but beyond what the partition can ever give: a
            // refusal, not a wait that never ends.
            await _commands.RunAsync("scancel", [slurm.JobId], cancellationToken);
            return new BackendObservation(BackendState.Exited, null,
                $"Slurm refused the job: it can never start in its partition as configured (pending, reason {pendingReason})");
        }
        if (state is "PENDING" or "CONFIGURING" or "RUNNING" or "COMPLETING" or "SUSPENDED" or "REQUEUED")
            return SlurmJobState.FromState(state, null, null);
        // Finished (or unknown to squeue): scontrol keeps finished jobs for MinJobAge, with the exit code and reason.
        var shown = await _commands.RunAsync("scontrol", ["-o", "show", "job", slurm.JobId], cancellationToken);
        var exitFromFile = ReadExit(slurm.Dir);
        if (shown.ExitCode == 0 && shown.Output.Length > 0)
        {
            var fields = SlurmJobState.ParseFields(shown.Output.Split('\n')[0]);
            var observed = SlurmJobState.FromState(fields.GetValueOrDefault("JobState", "UNKNOWN"),
                SlurmJobState.ExitCode(fields.GetValueOrDefault("ExitCode")), fields.GetValueOrDefault("Reason"));
            return observed.HasEnded && exitFromFile is { } code && observed.Reason is null ? observed with { ExitCode = code } : observed;
        }
        return exitFromFile is { } exit
            ? new BackendObservation(BackendState.Exited, exit)
            : new BackendObservation(BackendState.Lost, null, $"Slurm no longer knows job {slurm.JobId} and it left no exit status");
    }

    public async Task<BackendObservation> StopAsync(BackendHandle handle, TimeSpan grace, CancellationToken cancellationToken)
    {
        var slurm = SlurmHandle.Parse(handle);
        await _commands.RunAsync("scancel", [slurm.JobId], cancellationToken);
        var deadline = _time.GetUtcNow() + grace;
        var forced = false;
        while (true)
        {
            var observed = await ObserveAsync(handle, cancellationToken);
            if (observed.HasEnded)
                return forced ? observed with { Reason = (observed.Reason ?? "") + $" (killed after {grace})" } : observed;
            if (!forced && _time.GetUtcNow() > deadline)
            {
                await _commands.RunAsync("scancel", ["--signal=KILL", "--full", slurm.JobId], cancellationToken);
                forced = true;
                deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(30);
            }
            else if (forced && _time.GetUtcNow() > deadline)
                return new BackendObservation(BackendState.Lost, null, $"Slurm job {slurm.JobId} did not end after scancel --signal=KILL");
            await Task.Delay(StopPoll, _time, cancellationToken);
        }
    }

    public Task<Stream?> OpenLogAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        var path = Path.Combine(SlurmHandle.Parse(handle).Dir, SlurmBatchScript.OutputFileName);
        Stream? stream = File.Exists(path) ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete) : null;
        return Task.FromResult(stream);
    }

    public Task ForgetAsync(BackendHandle handle, CancellationToken cancellationToken)
    {
        var directory = SlurmHandle.Parse(handle).Dir;
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }

    private static int? ReadExit(string directory)
    {
        var path = Path.Combine(directory, SlurmBatchScript.ExitFileName);
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var code)
            ? code : null;
    }
}
