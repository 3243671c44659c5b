using Orrery.Core.Configuration;

namespace Orrery.Servers.Profiles;

/// <summary>
/// One entry of <c>Orrery:Servers:Profiles</c>: what a user can start (KubeSpawner's <c>profile_list</c>, protocol
/// notes §4.1). The command gets the JupyterHub environment (§2.2) and must serve under
/// <c>$JUPYTERHUB_SERVICE_PREFIX</c> at <c>$JUPYTERHUB_SERVICE_URL</c>.
/// </summary>
public sealed class ServerProfile
{
    public string DisplayName { get; set; } = "";
    /// <summary>Identifies the profile in <c>user_options</c> (<c>{"profile": "&lt;slug&gt;"}</c>).</summary>
    public string Slug { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>Program and arguments, never through a shell.</summary>
    public List<string> Command { get; set; } = [];
    /// <summary>The environment (container image or environment id) to run in; empty means the host's.</summary>
    public string Image { get; set; } = "";
    /// <summary>Extra environment variables for the server.</summary>
    public Dictionary<string, string> Environment { get; set; } = [];
    /// <summary>Cores the server may use (fractions allowed), exported as <c>CPU_LIMIT</c>; null = no limit.</summary>
    public double? CpuLimit { get; set; }
    /// <summary>Memory the server may use, bytes with an optional K/M/G/T suffix (powers of 1024), exported as <c>MEM_LIMIT</c>.</summary>
    public string? MemoryLimit { get; set; }
    /// <summary>The profile chosen when none is asked for; the first profile if none is marked.</summary>
    public bool Default { get; set; }
    /// <summary>Groups whose members may use the profile; empty means everyone.</summary>
    public List<string> AllowedGroups { get; set; } = [];
    /// <summary>Stop the server after this long without proxy traffic or activity reports; null or zero = never.</summary>
    public TimeSpan? IdleTimeout { get; set; }
    /// <summary>Stop the server once it has run this long, however busy; null or zero = never.</summary>
    public TimeSpan? MaxAge { get; set; }
    /// <summary>Where a browser lands (<c>JUPYTERHUB_DEFAULT_URL</c>, e.g. <c>/lab</c>); empty = the server's own default.</summary>
    public string DefaultUrl { get; set; } = "";
    /// <summary>Batch placement on that backend, e.g. Slurm's <c>partition</c>, <c>account</c>, <c>qos</c>.</summary>
    public Dictionary<string, string> Placement { get; set; } = [];

    /// <summary>The compute backend that runs it; empty = <c>Orrery:DefaultBackend</c>.</summary>
    public string Backend { get; set; } = "";

    public long? MemoryLimitBytes => ByteSizes.Parse(MemoryLimit);

    public bool AllowsGroups(IReadOnlyCollection<string> groups) =>
        AllowedGroups.Count == 0 || AllowedGroups.Any(groups.Contains);
}
