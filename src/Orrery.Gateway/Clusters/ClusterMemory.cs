using System.Collections.Concurrent;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// What the reconciler remembers between passes but need not survive a restart: the adaptive window and when it
/// last ticked, and which workers were ever seen registered or already counted as failed starts.
/// </summary>
public sealed class ClusterMemory
{
    private readonly ConcurrentDictionary<string, State> _clusters = new(StringComparer.Ordinal);

    public State For(string cluster) => _clusters.GetOrAdd(cluster, _ => new State());

    public void Forget(string cluster) => _clusters.TryRemove(cluster, out _);

    public sealed class State
    {
        public DateTime LastAdaptTick { get; set; } = DateTime.MinValue;
        /// <summary>The last three adaptive targets; scale-down goes only as low as their maximum.</summary>
        public Queue<int> AdaptWindow { get; } = new();
        public HashSet<string> Registered { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Accounted { get; } = new(StringComparer.Ordinal);
    }
}
