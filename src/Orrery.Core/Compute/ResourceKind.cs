namespace Orrery.Core.Compute;

/// <summary>What a compute resource is; all kinds share one lifecycle and one backend contract.</summary>
public enum ResourceKind
{
    Process,
    Server,
    Scheduler,
    Worker,
    Job,
    Build,
}
