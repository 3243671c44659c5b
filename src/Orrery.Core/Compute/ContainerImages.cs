namespace Orrery.Core.Compute;

/// <summary>Which launches run in a container image, decided in one place for servers, clusters and jobs.</summary>
public static class ContainerImages
{
    /// <summary>The backend that runs container images (Orrery.Backends.Podman registers under this name).</summary>
    public const string Backend = "podman";

    /// <summary>
    /// What a launch runs in: the environment fixed when it was requested, else a plain image name only on the container
    /// backend — the host backends run the host's programs and would refuse an image (the name is then only recorded).
    /// </summary>
    public static string? For(string? environmentId, string image, string backend) =>
        environmentId ?? (backend == Backend && image.Length > 0 ? image : null);
}
