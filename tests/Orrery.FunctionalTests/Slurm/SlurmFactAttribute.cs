namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// A fact that needs the private Slurm cluster of <c>scripts/slurm.sh</c>: it runs only when <c>ORRERY_TEST_SLURM=1</c>
/// and <c>SLURM_CONF</c> names a slurm.conf (as <c>scripts/test.sh</c> sets them with <c>ORRERY_TEST_SLURM=1</c>), and is
/// skipped otherwise.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (SlurmCluster.Unavailable() is { } why)
            Skip = why;
    }
}
