using Orrery.Core.Configuration;
using Orrery.Servers.Profiles;

namespace Orrery.Servers;

/// <summary>Section "Orrery:Servers": personal servers, their profiles, homes and timeouts.</summary>
public sealed class ServersOptions
{
    public const string SectionName = "Orrery:Servers";

    /// <summary>What users can start. Empty means one built-in profile running <c>jupyterhub-singleuser</c>.</summary>
    public List<ServerProfile> Profiles { get; set; } = [];

    /// <summary>Where users' persistent homes live; empty = <c>&lt;DataDir&gt;/homes</c>.</summary>
    public string HomeRoot { get; set; } = "";

    /// <summary>Most a home may hold (K/M/G/T suffixes); a server does not start while its home is over. Empty = no quota.</summary>
    public string HomeQuota { get; set; } = "10G";

    /// <summary>How long home usage measurements are trusted before measuring again.</summary>
    public TimeSpan HomeUsageCacheLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a server may take from launch to its first HTTP answer before the spawn fails.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a start request waits for the server to be ready before answering 202 instead of 201.</summary>
    public TimeSpan SlowSpawnTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stop request waits before answering 202 instead of 204.</summary>
    public TimeSpan SlowStopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool AllowNamedServers { get; set; } = true;

    /// <summary>Most named servers a user may have (running or not); 0 = no limit.</summary>
    public int NamedServerLimit { get; set; }

    /// <summary>How often servers are checked (process alive, stop asked for); starting ones are probed more often.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often idle and too old servers are looked for.</summary>
    public TimeSpan CullInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Keep-alive interval of the progress event stream (JupyterHub: 8 s).</summary>
    public TimeSpan ProgressKeepAlive { get; set; } = TimeSpan.FromSeconds(8);

    public long? HomeQuotaBytes => ByteSizes.Parse(HomeQuota);
}
