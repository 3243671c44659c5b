using Orrery.Backends.Slurm;
using Orrery.Core.Compute;
using Shouldly;
using Xunit;

namespace Orrery.Tests.Backends;

/// <summary>
/// What the Slurm test suite (tests/Orrery.FunctionalTests/Slurm, real daemons) found, pinned without Slurm: jobs are
/// never requeued by Slurm after a node failure, and pending reasons that can never clear are refusals.
/// </summary>
public class SlurmBackendFixesTests
{
    [Fact]
    public void Sbatch_NoRequeue_SoANodeFailureEndsTheJob()
    {
        var spec = new LaunchSpec("worker-abc", ["dask", "worker"], new Dictionary<string, string>());
        SlurmBatchScript.SbatchArguments(spec, "/state/worker-abc", "/work", new SlurmBackendOptions()).ShouldContain("--no-requeue");
    }

    [Theory]
    [InlineData("PartitionConfig", true)]       // cores beyond any node of the partition
    [InlineData("PartitionTimeLimit", true)]
    [InlineData("BadConstraints", true)]
    [InlineData("PartitionNodeLimit", false)]   // also while the nodes a job needs are down
    [InlineData("Resources", false)]
    [InlineData("Priority", false)]
    [InlineData("ReqNodeNotAvail", false)]
    [InlineData("None", false)]
    [InlineData("", false)]
    public void PendingReasons_ThatNeverClear(string reason, bool neverStarts) => SlurmJobState.NeverStarts(reason).ShouldBe(neverStarts);
}
