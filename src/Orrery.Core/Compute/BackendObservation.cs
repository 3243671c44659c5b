namespace Orrery.Core.Compute;

/// <summary>What a backend sees of a resource right now.</summary>
public enum BackendState
{
    /// <summary>Accepted by the backend but not running yet (e.g. queued in Slurm).</summary>
    Queued,
    Running,
    /// <summary>Finished; <see cref="BackendObservation.ExitCode"/> says how.</summary>
    Exited,
    /// <summary>Gone without a recorded exit status (killed, node lost, record purged).</summary>
    Lost,
}

/// <param name="ExitCode">Exit status when known; 128+N for a process killed by signal N.</param>
/// <param name="Reason">Why it ended when not a plain exit: a signal, a kill after the stop grace period, OUT_OF_MEMORY, ….</param>
public sealed record BackendObservation(BackendState State, int? ExitCode = null, string? Reason = null)
{
    public static readonly BackendObservation Queued = new(BackendState.Queued);
    public static readonly BackendObservation Running = new(BackendState.Running);

    public bool HasEnded => State is BackendState.Exited or BackendState.Lost;

    public bool Succeeded => State == BackendState.Exited && ExitCode == 0;
}

/// <summary>Result of a launch: a handle, or the backend's refusal as a value (expected failures are not exceptions).</summary>
public sealed record LaunchResult(BackendHandle? Handle, string? Error)
{
    public static LaunchResult Started(BackendHandle handle) => new(handle, null);

    public static LaunchResult Rejected(string error) => new(null, error);
}
