namespace Orrery.FunctionalTests.Podman;

/// <summary>
/// A fact that needs podman and the test base image of <c>scripts/podman.sh base-image</c>: it runs only when
/// <c>ORRERY_TEST_PODMAN=1</c> and <c>ORRERY_PODMAN_BASE_IMAGE</c> names an image podman has (as <c>scripts/test.sh</c>
/// sets them with <c>ORRERY_TEST_PODMAN=1</c>), and is skipped otherwise.
/// </summary>
public sealed class PodmanFactAttribute : FactAttribute
{
    public PodmanFactAttribute()
    {
        if (PodmanCli.Unavailable.Value is { } why)
            Skip = why;
    }
}

/// <summary>The Podman tests share podman's store; they run one at a time, and not alongside the rest of the suite.</summary>
[CollectionDefinition("podman", DisableParallelization = true)]
public sealed class PodmanCollection;
