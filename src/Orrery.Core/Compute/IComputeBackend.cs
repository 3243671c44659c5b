namespace Orrery.Core.Compute;

/// <summary>
/// Where compute runs. The local backend starts child processes; a batch scheduler (Slurm: sbatch, squeue,
/// scancel, output files) and a container engine (Podman: run, inspect, stop, logs) fit the same five calls.
/// Callers keep only the <see cref="BackendHandle"/>; everything else is re-derived from it after a restart.
/// </summary>
public interface IComputeBackend
{
    /// <summary>Name used in configuration and stored in handles, e.g. "local", "slurm".</summary>
    string Name { get; }

    Task<LaunchResult> LaunchAsync(LaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>Looks at a resource by handle; works for handles created by an earlier Orrery process.</summary>
    Task<BackendObservation> ObserveAsync(BackendHandle handle, CancellationToken cancellationToken);

    /// <summary>Asks the resource to stop, forces it after <paramref name="grace"/>, and returns how it ended.</summary>
    Task<BackendObservation> StopAsync(BackendHandle handle, TimeSpan grace, CancellationToken cancellationToken);

    /// <summary>The resource's combined output so far (it may still grow), or null when there is none.</summary>
    Task<Stream?> OpenLogAsync(BackendHandle handle, CancellationToken cancellationToken);

    /// <summary>Removes what the backend kept for an ended resource (logs, state files). Idempotent.</summary>
    Task ForgetAsync(BackendHandle handle, CancellationToken cancellationToken);
}
