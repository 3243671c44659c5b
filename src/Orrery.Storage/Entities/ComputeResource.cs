using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;

namespace Orrery.Storage.Entities;

/// <summary>
/// One compute resource (server, scheduler, worker, job, build) as the database knows it: the state it is in,
/// whether its owner wants it stopped, and the backend handle that finds it again after a restart.
/// </summary>
public sealed class ComputeResource
{
    public required string Id { get; set; }
    public ResourceKind Kind { get; set; }
    public long OwnerId { get; set; }
    public User? Owner { get; set; }
    public string Name { get; set; } = "";
    /// <summary>What this resource belongs to, e.g. the cluster of a scheduler or worker; null for standalone ones.</summary>
    public string? Parent { get; set; }
    public ResourceState State { get; set; }
    /// <summary>Desired state: set when a stop was asked for; the reconciler converges.</summary>
    public bool StopRequested { get; set; }
    public required string Backend { get; set; }
    public string? Handle { get; set; }
    /// <summary>The launch spec as JSON, so a pending resource can be launched by any Orrery process.</summary>
    public string SpecJson { get; set; } = "{}";
    public int? ExitCode { get; set; }
    public string? Reason { get; set; }
    public DateTime Created { get; set; }
    public DateTime? Started { get; set; }
    public DateTime? Ended { get; set; }
}
