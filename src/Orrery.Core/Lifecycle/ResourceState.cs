namespace Orrery.Core.Lifecycle;

/// <summary>The one lifecycle every compute resource (server, cluster, worker, job, build) moves through.</summary>
public enum ResourceState
{
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
}
