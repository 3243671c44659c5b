using Orrery.Core.Compute;

namespace Orrery.Core.Environments;

/// <summary>
/// Environments as the modules that run things see them: a server's profile, a Dask cluster's <c>image</c> option
/// and a job's image may each name an environment (by name or id). The Environments module implements it; modules
/// check a reference when a request comes in (so a bad one is a 4xx), and the compute reconciler turns the
/// environment into what the chosen backend runs at launch.
/// </summary>
public interface IEnvironments
{
    /// <summary>
    /// What <paramref name="reference"/> names for this user: an environment they may use, an error to answer with
    /// (not built yet, failed, not shared with them), or neither when it names no environment (a plain image).
    /// </summary>
    Task<EnvironmentLookup> FindAsync(long userId, string reference, CancellationToken cancellationToken);

    /// <summary>A built environment by content id, whoever may use it (what a running server or cluster was given), or null.</summary>
    Task<EnvironmentInfo?> ByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>The environment an admin marked as the default of a server profile, or null.</summary>
    Task<EnvironmentInfo?> DefaultForProfileAsync(string profile, CancellationToken cancellationToken);

    /// <summary>The python, dask and distributed versions of the host's own Python (what runs with no environment).</summary>
    Task<IReadOnlyDictionary<string, string>> HostVersionsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// At launch: a spec whose <see cref="LaunchSpec.Image"/> is an environment id, made runnable on a backend — a
    /// virtual environment's PATH and interpreter on the host, or the environment's container image (which needs
    /// a container backend, so the backend may change). Specs naming no environment come back unchanged.
    /// </summary>
    Task<Realisation> RealiseAsync(LaunchSpec spec, string backend, CancellationToken cancellationToken);
}

/// <param name="Id">The content id, e.g. <c>env-3f2a…</c>: what launch specs carry.</param>
/// <param name="Versions">python, dask and distributed versions inside the environment (those it has).</param>
public sealed record EnvironmentInfo(string Id, string Name, IReadOnlyDictionary<string, string> Versions);

/// <summary>Both null: the reference names no environment.</summary>
public sealed record EnvironmentLookup(EnvironmentInfo? Environment, string? Error)
{
    public static readonly EnvironmentLookup None = new(null, null);
}

/// <summary>The spec and backend to launch with, or why it cannot be launched.</summary>
public sealed record Realisation(LaunchSpec? Spec, string Backend, string? Error);

/// <summary>Compares environments' versions, for the warning a cluster gets when its environment drifts from its server's.</summary>
public static class EnvironmentVersions
{
    public static readonly string[] Compared = ["python", "dask", "distributed"];

    /// <summary>"dask 2024.1.0 vs 2022.12.1, …" for each compared package whose versions differ, or null when none do.</summary>
    public static string? Differences(IReadOnlyDictionary<string, string> cluster, IReadOnlyDictionary<string, string> server)
    {
        var differing = Compared
            .Where(p => cluster.GetValueOrDefault(p, "none") != server.GetValueOrDefault(p, "none"))
            .Select(p => $"{p} {cluster.GetValueOrDefault(p, "none")} (cluster) vs {server.GetValueOrDefault(p, "none")} (server)")
            .ToList();
        return differing.Count == 0 ? null : string.Join(", ", differing);
    }
}
