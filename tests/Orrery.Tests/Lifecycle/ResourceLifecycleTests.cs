using Orrery.Core.Lifecycle;

namespace Orrery.Tests.Lifecycle;

public class ResourceLifecycleTests
{
    public static TheoryData<ResourceState, ResourceState> LegalMoves => new()
    {
        { ResourceState.Pending, ResourceState.Starting },
        { ResourceState.Pending, ResourceState.Stopped },
        { ResourceState.Pending, ResourceState.Failed },
        { ResourceState.Starting, ResourceState.Running },
        { ResourceState.Starting, ResourceState.Stopping },
        { ResourceState.Starting, ResourceState.Stopped },
        { ResourceState.Starting, ResourceState.Failed },
        { ResourceState.Running, ResourceState.Stopping },
        { ResourceState.Running, ResourceState.Stopped },
        { ResourceState.Running, ResourceState.Failed },
        { ResourceState.Stopping, ResourceState.Stopped },
        { ResourceState.Stopping, ResourceState.Failed },
    };

    [Theory]
    [MemberData(nameof(LegalMoves))]
    public void CanMove_LegalMove_True(ResourceState from, ResourceState to) =>
        ResourceLifecycle.CanMove(from, to).ShouldBeTrue();

    [Fact]
    public void CanMove_EveryOtherPair_False()
    {
        var legal = LegalMoves.Select(row => ((ResourceState)row[0], (ResourceState)row[1])).ToHashSet();
        foreach (var from in Enum.GetValues<ResourceState>())
            foreach (var to in Enum.GetValues<ResourceState>())
                if (!legal.Contains((from, to)))
                    ResourceLifecycle.CanMove(from, to).ShouldBeFalse($"{from} → {to}");
    }

    [Theory]
    [InlineData(ResourceState.Stopped)]
    [InlineData(ResourceState.Failed)]
    public void IsTerminal_EndStates_True(ResourceState state) => ResourceLifecycle.IsTerminal(state).ShouldBeTrue();

    [Fact]
    public void Move_Illegal_Throws() =>
        Should.Throw<InvalidOperationException>(() => ResourceLifecycle.Move(ResourceState.Stopped, ResourceState.Running));

    [Theory]
    [InlineData(ResourceState.Pending, false)]
    [InlineData(ResourceState.Starting, true)]
    [InlineData(ResourceState.Running, true)]
    [InlineData(ResourceState.Stopping, true)]
    [InlineData(ResourceState.Stopped, false)]
    public void IsActive_MatchesStatesWithLiveProcesses(ResourceState state, bool active) =>
        ResourceLifecycle.IsActive(state).ShouldBe(active);
}
