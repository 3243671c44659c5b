namespace Orrery.Core.Lifecycle;

/// <summary>
/// The single transition table for <see cref="ResourceState"/>. Every state change of every resource goes
/// through <see cref="CanMove"/>, so a reconciler can never resurrect a finished resource or skip a stop.
/// </summary>
public static class ResourceLifecycle
{
    private static readonly Dictionary<ResourceState, ResourceState[]> Allowed = new()
    {
        // Pending: accepted, not yet handed to a backend (or queued behind a limit).
        [ResourceState.Pending] = [ResourceState.Starting, ResourceState.Stopped, ResourceState.Failed],
        // Starting: the backend has it; a short job may finish before it was ever seen running.
        [ResourceState.Starting] = [ResourceState.Running, ResourceState.Stopping, ResourceState.Stopped, ResourceState.Failed],
        [ResourceState.Running] = [ResourceState.Stopping, ResourceState.Stopped, ResourceState.Failed],
        [ResourceState.Stopping] = [ResourceState.Stopped, ResourceState.Failed],
        // Terminal: a restart is a new attempt (a new resource), never a move back.
        [ResourceState.Stopped] = [],
        [ResourceState.Failed] = [],
    };

    public static bool CanMove(ResourceState from, ResourceState to) => Allowed[from].Contains(to);

    public static bool IsTerminal(ResourceState state) => Allowed[state].Length == 0;

    /// <summary>States in which a backend may hold live processes for the resource.</summary>
    public static bool IsActive(ResourceState state) =>
        state is ResourceState.Starting or ResourceState.Running or ResourceState.Stopping;

    /// <summary>Returns <paramref name="to"/> or throws: an illegal move is a bug in the caller, not bad input.</summary>
    public static ResourceState Move(ResourceState from, ResourceState to) =>
        CanMove(from, to) ? to : throw new InvalidOperationException($"Illegal lifecycle transition {from} → {to}.");
}
