namespace Orrery.Core.Compute;

/// <summary>
/// A backend that can tell at once when one of its resources ends (the local backend reaps its children), so the
/// reconciler records the end now instead of at its next interval. Backends that cannot simply do not implement it.
/// </summary>
public interface IReportsEnds
{
    event Action? ResourceEnded;
}
