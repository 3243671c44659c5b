namespace Orrery.Gateway;

/// <summary>Section "Orrery:Gateway": the Dask-Gateway-compatible service, its cluster options and limits.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Orrery:Gateway";

    /// <summary>The service name: the API lives at {BaseUrl}services/{ServiceName}/ and tokens need access:services!service={ServiceName}.</summary>
    public string ServiceName { get; set; } = "dask-gateway";

    /// <summary>The program that runs `dask scheduler` / `dask worker` (Debian's python3-distributed).</summary>
    public string DaskCommand { get; set; } = "/usr/bin/dask";

    /// <summary>
    /// The compute backends schedulers and workers run on (e.g. "slurm"); empty = <c>Orrery:DefaultBackend</c>. A cluster
    /// option named <c>scheduler_backend</c> or <c>worker_backend</c>, when declared, chooses per cluster.
    /// </summary>
    public string SchedulerBackend { get; set; } = "";

    /// <summary>Batch placement for schedulers and workers (e.g. partition, account, qos on Slurm); declared cluster options of those names override it.</summary>
    public Dictionary<string, string> Placement { get; set; } = [];
    public string WorkerBackend { get; set; } = "";

    /// <summary>The cluster options users may set; empty means the defaults listed in docs/configuration.md.</summary>
    public List<OptionField> ClusterOptions { get; set; } = [];

    /// <summary>Per-group changes to option defaults and bounds: group name → field name → override. The first of the user's groups (by name) that has one wins.</summary>
    public Dictionary<string, Dictionary<string, OptionOverride>> GroupOverrides { get; set; } = [];

    public ClusterLimits Limits { get; set; } = new();

    /// <summary>How often the adaptive loop asks the scheduler for its target (upstream's adaptive_period).</summary>
    public TimeSpan AdaptivePeriod { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often each cluster is reconciled (scheduler state, worker deaths, scaling).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A scheduler that is not listening within this time fails its cluster.</summary>
    public TimeSpan ClusterStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A worker that has not registered with the scheduler within this time counts as a failed start.</summary>
    public TimeSpan WorkerStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Consecutive worker start failures that fail the cluster.</summary>
    public int WorkerStartFailureLimit { get; set; } = 3;

    /// <summary>How long ?wait holds a GET of a cluster that is not ready yet.</summary>
    public TimeSpan WaitLimit { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Per-user limits, checked when clusters are created and scaled.</summary>
public sealed class ClusterLimits
{
    /// <summary>Clusters a user may have pending or running at once; 0 = no limit.</summary>
    public int MaxClusters { get; set; } = 5;

    /// <summary>Worker cores a user may hold over all clusters; 0 = no limit.</summary>
    public double MaxCores { get; set; } = 0;

    /// <summary>Worker memory (bytes) a user may hold over all clusters; 0 = no limit.</summary>
    public long MaxMemory { get; set; } = 0;

    /// <summary>Workers per cluster; 0 = no limit.</summary>
    public int MaxWorkersPerCluster { get; set; } = 0;
}

/// <summary>One cluster option in dask-gateway's spec: a field name, a label, a type, a default and bounds.</summary>
public sealed class OptionField
{
    public string Field { get; set; } = "";
    public string? Label { get; set; }
    /// <summary>int, float, string, bool, select or mapping.</summary>
    public string Type { get; set; } = "string";
    /// <summary>The default, as text (numbers, true/false, a select key, or JSON for a mapping).</summary>
    public string? Default { get; set; }
    public double? Min { get; set; }
    public double? Max { get; set; }
    /// <summary>The choices of a select field.</summary>
    public List<string> Options { get; set; } = [];
}

public sealed class OptionOverride
{
    public string? Default { get; set; }
    public double? Min { get; set; }
    public double? Max { get; set; }
}
