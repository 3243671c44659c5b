namespace Orrery.Storage.Entities;

/// <summary>Where a batch job is; kbatch's table shows pending, running, done or failed from it.</summary>
public enum JobState
{
    /// <summary>Waiting for capacity (the reason says why) or for its pod to start.</summary>
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// <summary>
/// A batch job as the kbatch-compatible service keeps it: what to run (argv, image, environment, code bundle), its
/// per-user name, and its outcome. Each attempt is a <see cref="JobPod"/> with its own compute resource; the job and
/// its pods' logs stay until the retention period after it finished.
/// </summary>
public sealed class BatchJob
{
    public long Id { get; set; }
    public long OwnerId { get; set; }
    public User? Owner { get; set; }
    /// <summary>Unique per owner (kbatch's names are unique per user namespace).</summary>
    public required string Name { get; set; }
    public required string Uid { get; set; }
    public string GenerateName { get; set; } = "";
    public string Image { get; set; } = "";
    /// <summary>The environment (content id) <see cref="Image"/> named when the job was submitted; null = not an environment.</summary>
    public string? EnvironmentId { get; set; }
    /// <summary>Kubernetes semantics: command replaces the entrypoint, args the default arguments (JSON lists or null).</summary>
    public string? CommandJson { get; set; }
    public string? ArgsJson { get; set; }
    /// <summary>The user's variables, name → value, in order (secret: never echoed back).</summary>
    public string EnvJson { get; set; } = "[]";
    public double? Cores { get; set; }
    public long? MemoryBytes { get; set; }
    public int BackoffLimit { get; set; }
    public int TtlSecondsAfterFinished { get; set; }
    /// <summary>Where the job's files live: the code bundle and each attempt's fresh working directory.</summary>
    public required string Directory { get; set; }
    public bool HasCode { get; set; }
    public JobState State { get; set; }
    /// <summary>Why a pending job waits, or why a job failed.</summary>
    public string? Reason { get; set; }
    public int? ExitCode { get; set; }
    public bool DeleteRequested { get; set; }
    /// <summary>The token the job's processes get as JUPYTERHUB_API_TOKEN; deleted when the job ends.</summary>
    public long? TokenId { get; set; }
    /// <summary>The personal server whose token submitted it: the job ends with that server.</summary>
    public long? ServerId { get; set; }
    public long? CronJobId { get; set; }
    public DateTime Created { get; set; }
    public DateTime? CompletionTime { get; set; }
    public DateTime? FailedTime { get; set; }
}

/// <summary>One attempt of a <see cref="BatchJob"/> (kbatch's pod): a compute resource and how it ended.</summary>
public sealed class JobPod
{
    public long Id { get; set; }
    public long JobId { get; set; }
    public BatchJob? Job { get; set; }
    public required string Name { get; set; }
    public required string Uid { get; set; }
    /// <summary>Null while the attempt waits for capacity; then the compute resource running it.</summary>
    public string? ResourceId { get; set; }
    public DateTime Created { get; set; }
}

/// <summary>A cron job: a schedule (UTC) and the job to create at each time, with Kubernetes' policies.</summary>
public sealed class CronJob
{
    public long Id { get; set; }
    public long OwnerId { get; set; }
    public User? Owner { get; set; }
    public required string Name { get; set; }
    public required string Uid { get; set; }
    public string GenerateName { get; set; } = "";
    public required string Schedule { get; set; }
    public bool Suspend { get; set; }
    /// <summary>Allow, Forbid or Replace.</summary>
    public string ConcurrencyPolicy { get; set; } = "Allow";
    public int SuccessfulJobsHistoryLimit { get; set; } = 3;
    public int FailedJobsHistoryLimit { get; set; } = 1;
    public int? StartingDeadlineSeconds { get; set; }
    /// <summary>The job each run creates, as the submit request normalised it (env included: secret).</summary>
    public required string JobTemplateJson { get; set; }
    /// <summary>Holds the code bundle every run starts from.</summary>
    public required string Directory { get; set; }
    public bool HasCode { get; set; }
    public long? ServerId { get; set; }
    public DateTime Created { get; set; }
    public DateTime? LastScheduleTime { get; set; }
    public DateTime? LastSuccessfulTime { get; set; }
}
