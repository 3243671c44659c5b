using Orrery.Core.Lifecycle;

namespace Orrery.Storage.Entities;

/// <summary>
/// A Dask cluster as the gateway keeps it: the options the user chose, the desired worker count and adaptive
/// range, its own certificate, and where its scheduler listens. Its scheduler and workers are
/// <see cref="ComputeResource"/> rows whose <see cref="ComputeResource.Parent"/> is this cluster's name.
/// </summary>
public sealed class DaskCluster
{
    public required string Name { get; set; }
    public long OwnerId { get; set; }
    public User? Owner { get; set; }
    public ResourceState State { get; set; }
    public bool StopRequested { get; set; }
    /// <summary>Set with <see cref="StopRequested"/> when the cluster is being stopped because it failed.</summary>
    public bool EndAsFailed { get; set; }
    /// <summary>The validated user options (all fields, defaults filled in), as the reports show them.</summary>
    public string OptionsJson { get; set; } = "{}";
    public double WorkerCores { get; set; }
    public long WorkerMemory { get; set; }
    public int WorkerThreads { get; set; }
    public required string CertificatePem { get; set; }
    public required string KeyPem { get; set; }
    public required string WorkDir { get; set; }
    public string? SchedulerResourceId { get; set; }
    public string? SchedulerAddress { get; set; }
    public string? DashboardAddress { get; set; }
    public int TargetWorkers { get; set; }
    public bool Adaptive { get; set; }
    public int AdaptiveMinimum { get; set; }
    public int AdaptiveMaximum { get; set; }
    /// <summary>Workers that failed to start in a row; too many fail the cluster.</summary>
    public int WorkerStartFailures { get; set; }
    /// <summary>Why it failed or stopped, with the scheduler's last log lines when it died.</summary>
    public string? Reason { get; set; }
    /// <summary>The personal server whose token created this cluster; stopping that server stops the cluster.</summary>
    public long? ServerId { get; set; }
    /// <summary>Set by the owner to keep the cluster running when its <see cref="ServerId"/> server stops.</summary>
    public bool KeepRunning { get; set; }
    /// <summary>Said when the cluster was created: its environment's python/dask/distributed differ from its server's.</summary>
    public string? Warning { get; set; }
    /// <summary>The environment (content id) its scheduler and workers run in, fixed when it was created; null = the host's.</summary>
    public string? EnvironmentId { get; set; }
    public DateTime Created { get; set; }
    public DateTime? Started { get; set; }
    public DateTime? Ended { get; set; }
}
