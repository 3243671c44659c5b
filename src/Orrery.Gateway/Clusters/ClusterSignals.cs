using System.Collections.Concurrent;

namespace Orrery.Gateway.Clusters;

/// <summary>Wakes `?wait` long-polls when a cluster's state changes, instead of having them poll the database.</summary>
public sealed class ClusterSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next change of <paramref name="cluster"/>.</summary>
    public Task NextChange(string cluster) =>
        _waiters.GetOrAdd(cluster, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Pulse(string cluster)
    {
        if (_waiters.TryRemove(cluster, out var waiter))
            waiter.TrySetResult();
    }
}
