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
}
