using System.Globalization;
using Orrery.Core.Compute;

namespace Orrery.Backends.Slurm;

/// <summary>
/// Reads Slurm's text output (22.05's JSON output ignores filters and mangles exit codes): a job state from
/// <c>squeue -h -o %T</c> and <c>JobState=… ExitCode=a:b</c> from <c>scontrol -o show job</c>.
/// </summary>
internal static class SlurmJobState
{
    /// <summary>Slurm's state names mapped onto what Orrery needs to know.</summary>
    public static BackendObservation FromState(string state, int? exitCode, string? reason)
    {
        state = state.Split(' ', 2)[0].TrimEnd('+');   // "CANCELLED by 0", "COMPLETED+"
        return state switch
        {
            "PENDING" or "CONFIGURING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESIZING" or "SUSPENDED" or "STOPPED"
                => BackendObservation.Queued,
            "RUNNING" or "COMPLETING" or "SIGNALING" or "STAGE_OUT" => BackendObservation.Running,
            "COMPLETED" => new BackendObservation(BackendState.Exited, exitCode ?? 0),
            "OUT_OF_MEMORY" => new BackendObservation(BackendState.Exited, exitCode is null or 0 ? 137 : exitCode,
                "OUT_OF_MEMORY: the job used more memory than it asked for" + (reason is null ? "" : $" ({reason})")),
            "FAILED" => new BackendObservation(BackendState.Exited, exitCode ?? 1, reason is null or "None" ? null : $"Slurm: {reason}"),
            // A job ended by Slurm never succeeded, whatever ExitCode says (a cancelled pending job shows 0:0).
            "TIMEOUT" or "DEADLINE" => new BackendObservation(BackendState.Exited, exitCode is null or 0 ? 143 : exitCode, $"{state}: the job reached its time limit"),
            "CANCELLED" or "PREEMPTED" => new BackendObservation(BackendState.Exited, exitCode is null or 0 ? 143 : exitCode, $"{state} by Slurm"),
            "NODE_FAIL" or "BOOT_FAIL" => new BackendObservation(BackendState.Lost, null, $"{state}: the node running it failed"),
            _ => new BackendObservation(BackendState.Lost, exitCode, $"unknown Slurm job state {state}"),
        };
    }

    /// <summary>
    /// Pending reasons that mean the job asks for more than its partition has (cores beyond any node, a time above its
    /// MaxTime, features no node has): Slurm keeps such jobs pending forever when the partition does not enforce its limits
    /// at submission. (PartitionNodeLimit is not one: it is also the reason while the nodes a job needs are down.)
    /// </summary>
    public static bool NeverStarts(string pendingReason) => pendingReason is "PartitionConfig" or "PartitionTimeLimit" or "BadConstraints";

    /// <summary>The fields of one <c>scontrol -o show job</c> line (space-separated Key=Value pairs).</summary>
    public static Dictionary<string, string> ParseFields(string line)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
                fields[pair[..equals]] = pair[(equals + 1)..];
        }
        return fields;
    }

    /// <summary><c>ExitCode=a:b</c>: a is the exit status, b the signal that ended it (then 128 + b, as a shell reports it).</summary>
    public static int? ExitCode(string? value)
    {
        if (value is null)
            return null;
        var parts = value.Split(':');
        if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
            return null;
        return code == 0 && parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var signal) && signal > 0
            ? 128 + signal : code;
    }
}
