using Orrery.Core.Lifecycle;

namespace Orrery.Storage.Entities;

/// <summary>
/// A user's personal server (JupyterHub's "server": the default one has the name "", named ones their own name).
/// The row outlives its runs: each start launches a new <see cref="ComputeResource"/> (<see cref="ResourceId"/>) with
/// a fresh server token, and the row keeps the last run's outcome for the pages.
/// </summary>
public sealed class UserServer
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public User? User { get; set; }
    /// <summary>"" for the default server.</summary>
    public string Name { get; set; } = "";
    /// <summary>
    /// Starting = spawn pending, Running = up and routed (ready), Stopping = stop pending, Stopped or Failed = not
    /// running (the last run's outcome).
    /// </summary>
    public ResourceState State { get; set; } = ResourceState.Stopped;
    public bool StopRequested { get; set; }
    /// <summary>Set with <see cref="StopRequested"/> when the run is being stopped because it failed.</summary>
    public bool EndAsFailed { get; set; }
    /// <summary>The current (or last) run.</summary>
    public string? ResourceId { get; set; }
    /// <summary>The profile slug of the current (or last) run.</summary>
    public string Profile { get; set; } = "";
    /// <summary>The environment (content id) the current or last run uses; null = the host's own.</summary>
    public string? EnvironmentId { get; set; }
    /// <summary>Exactly the JSON body given to the start request (JupyterHub's <c>user_options</c>), or null.</summary>
    public string? UserOptionsJson { get; set; }
    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:41234</c>; the proxy keeps the full path.</summary>
    public string? Address { get; set; }
    /// <summary>The run's own API token (its <c>JUPYTERHUB_API_TOKEN</c> and OAuth client secret).</summary>
    public long? TokenId { get; set; }
    public DateTime Created { get; set; }
    public DateTime? Started { get; set; }
    public DateTime? Ready { get; set; }
    public DateTime? LastActivity { get; set; }
    public DateTime? Ended { get; set; }
    /// <summary>Why the last run ended or failed ("idle for 1:00:00", "stopped by alice", "exited with status 1: …").</summary>
    public string? Reason { get; set; }
}
