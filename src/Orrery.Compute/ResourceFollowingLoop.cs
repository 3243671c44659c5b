namespace Orrery.Compute;

/// <summary>
/// The loop of a reconciler of what is built on compute resources (servers, clusters, jobs, environment builds): besides
/// its interval it passes as soon as the compute reconciler changed some resource's state (a process ended, a launch ran).
/// </summary>
public abstract class ResourceFollowingLoop(ComputeReconciler compute, TimeProvider time) : ReconcileLoop(time)
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        compute.ResourcesChanged += Wake;
        return base.StartAsync(cancellationToken);
    }
}
