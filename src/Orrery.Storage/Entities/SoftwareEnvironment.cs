namespace Orrery.Storage.Entities;

public enum EnvironmentState
{
    Building,
    Ready,
    Failed,
}

/// <summary>
/// A named environment a user submitted: a spec (base, packages, local libraries, variables) built into an artifact
/// identified by its content (<see cref="ContentId"/>): a virtual environment under the data directory or a container
/// image. Submitting the same content again reuses the artifact (a cache hit); rows sharing a content id share one
/// build (<see cref="BuildResourceId"/>, a <c>Build</c> compute resource).
/// </summary>
public sealed class SoftwareEnvironment
{
    public long Id { get; set; }
    public required string Name { get; set; }
    /// <summary><c>env-</c> and 16 hex digits of the SHA-256 of the normalised spec and the libraries' files.</summary>
    public required string ContentId { get; set; }
    public long OwnerId { get; set; }
    public User? Owner { get; set; }
    /// <summary>"venv" (host Python) or "image" (a container image built by Podman).</summary>
    public required string Kind { get; set; }
    /// <summary>The checked spec, as JSON.</summary>
    public required string SpecJson { get; set; }
    public EnvironmentState State { get; set; }
    public string? BuildResourceId { get; set; }
    /// <summary>The build step that failed (e.g. "pip", "libraries") and its last output lines.</summary>
    public string? FailedStep { get; set; }
    public string? Reason { get; set; }
    /// <summary>Every package with its version, as JSON [{"name","version"}], read from the built artifact.</summary>
    public string PackagesJson { get; set; } = "[]";
    /// <summary>python, dask and distributed versions, as JSON {"python": …}.</summary>
    public string VersionsJson { get; set; } = "{}";
    /// <summary>A group whose members may use it too; null = private to its owner.</summary>
    public string? SharedWithGroup { get; set; }
    /// <summary>A server profile (slug) this environment is the default of; set by an admin.</summary>
    public string? DefaultForProfile { get; set; }
    public DateTime Created { get; set; }
    public DateTime? Built { get; set; }
}
