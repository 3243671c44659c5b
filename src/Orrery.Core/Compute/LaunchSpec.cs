namespace Orrery.Core.Compute;

/// <summary>
/// What to run, independent of where: a local process, a Slurm job or a container all start from this.
/// </summary>
/// <param name="ResourceId">Stable unique id of the resource; backends name their state (files, jobs, containers) after it.</param>
/// <param name="Command">Program and arguments; never passed through a shell.</param>
/// <param name="Environment">The complete set of variables the program gets besides the backend's minimal base (PATH, LANG).</param>
/// <param name="WorkingDirectory">Absolute directory to start in; null means the backend's per-resource directory.</param>
public sealed record LaunchSpec(
    string ResourceId,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Environment,
    string? WorkingDirectory = null)
{
    public ResourceRequest Resources { get; init; } = ResourceRequest.None;

    /// <summary>Environment (container image or environment id) to run in; null means the host's.</summary>
    public string? Image { get; init; }

    /// <summary>Backend-specific placement hints, e.g. Slurm partition, account and QoS.</summary>
    public IReadOnlyDictionary<string, string> Placement { get; init; } = new Dictionary<string, string>();
}

/// <summary>Resources a launch asks for. Null fields mean "no limit requested".</summary>
public sealed record ResourceRequest(double? Cores = null, long? MemoryBytes = null, TimeSpan? TimeLimit = null)
{
    public static readonly ResourceRequest None = new();
}
