namespace Orrery.Environments;

/// <summary>Section "Orrery:Environments": building environments and where they are kept.</summary>
public sealed class EnvironmentsOptions
{
    public const string SectionName = "Orrery:Environments";

    /// <summary>The API lives at {BaseUrl}services/{ServiceName}/; tokens need access:services!service={ServiceName}.</summary>
    public string ServiceName { get; set; } = "environments";

    /// <summary>Where environments are built and kept, by content id; empty = &lt;DataDir&gt;/environments.</summary>
    public string Root { get; set; } = "";

    /// <summary>The host's Python that host environments (virtual environments) are made over.</summary>
    public string HostPython { get; set; } = "/usr/bin/python3";

    /// <summary>The podman program that builds container environments.</summary>
    public string PodmanProgram { get; set; } = "podman";

    /// <summary>containers.conf for builds (given to podman as CONTAINERS_CONF); empty = what Orrery's environment says.</summary>
    public string ContainersConf { get; set; } = "";

    /// <summary>Built images are tagged {ImageRepository}:{content id}.</summary>
    public string ImageRepository { get; set; } = "localhost/orrery-env";

    /// <summary>When set (e.g. registry.example.org/team), built images are pushed there and launched from there.</summary>
    public string Registry { get; set; } = "";

    /// <summary>The package index pip installs a spec's pip packages from; empty = pip's own default.</summary>
    public string PipIndexUrl { get; set; } = "";

    /// <summary>Largest library bundle (zip) a submission may upload.</summary>
    public string MaxBundleSize { get; set; } = "100M";

    /// <summary>How often builds are looked at when nothing wakes the loop.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);
}
