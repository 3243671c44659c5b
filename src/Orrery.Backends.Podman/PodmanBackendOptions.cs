namespace Orrery.Backends.Podman;

/// <summary>Section "Orrery:Backends:Podman". The backend is registered only when <see cref="Enabled"/>.</summary>
public sealed class PodmanBackendOptions
{
    public const string SectionName = "Orrery:Backends:Podman";

    public bool Enabled { get; set; }

    /// <summary>The podman executable: a name looked up on PATH, or a path.</summary>
    public string Program { get; set; } = "podman";

    /// <summary>Per-resource directories (the container's log file); empty = <c>&lt;DataDir&gt;/podman</c>.</summary>
    public string StateDir { get; set; } = "";

    /// <summary>
    /// A containers.conf every podman command reads (passed as <c>CONTAINERS_CONF</c>), so Orrery's podman settings
    /// (runtime, cgroup manager, events logger, ulimits) need no change in /etc; see deploy/podman/containers.conf.
    /// Empty = podman's own configuration (and whatever <c>CONTAINERS_CONF</c> Orrery's environment has).
    /// </summary>
    public string ConfigFile { get; set; } = "";

    /// <summary>
    /// <c>--network</c> of every container. "host" (default): servers and Dask listen on the host's loopback ports
    /// exactly as local processes do, so Orrery's proxies reach them unchanged.
    /// </summary>
    public string Network { get; set; } = "host";

    /// <summary>How long one podman command may take before it counts as failed (a stop adds its grace period).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
