using Orrery.Core.Lifecycle;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>One attempt and the compute resource running it (null while it waits for capacity).</summary>
public sealed record PodView(JobPod Pod, ComputeResource? Resource)
{
    /// <summary>Kubernetes' pod phase.</summary>
    public string Phase => Resource?.State switch
    {
        null or ResourceState.Pending or ResourceState.Starting => "Pending",
        ResourceState.Running or ResourceState.Stopping => "Running",
        _ => Resource.ExitCode == 0 ? "Succeeded" : "Failed",
    };

    public bool IsFinished => Phase is "Succeeded" or "Failed";
}

/// <summary>A job with its owner's name and its attempts, oldest first: what every kbatch answer is written from.</summary>
public sealed record JobView(BatchJob Job, string Owner, IReadOnlyList<PodView> Pods)
{
    public PodView? Current => Pods.Count == 0 ? null : Pods[^1];

    /// <summary>
    /// The job's state as its pods show it. The job reconciler records an attempt's end a moment after the compute
    /// reconciler does; until then the answer must already agree with the pods (a failed pod under a job still
    /// "running" would be a status kbatch's table cannot render).
    /// </summary>
    public JobState State => Job.State is JobState.Pending or JobState.Running && Current is { IsFinished: true } pod
        ? pod.Phase == "Succeeded" ? JobState.Succeeded : Pods.Count > Job.BackoffLimit ? JobState.Failed : JobState.Pending
        : Job.State;

    public DateTime? CompletionTime => Job.CompletionTime ?? (State == JobState.Succeeded ? Current?.Resource?.Ended : null);

    public DateTime? FailedTime => Job.FailedTime ?? (State == JobState.Failed ? Current?.Resource?.Ended : null);
}
