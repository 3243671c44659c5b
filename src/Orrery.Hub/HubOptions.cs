namespace Orrery.Hub;

/// <summary>Section "Orrery:Hub": login, tokens and the JupyterHub-compatible API.</summary>
public sealed class HubOptions
{
    public const string SectionName = "Orrery:Hub";

    /// <summary>Login form posts allowed per client address per minute; more get 429.</summary>
    public int LoginAttemptsPerMinute { get; set; } = 10;

    /// <summary>How long a browser login lasts (JupyterHub's cookie_max_age_days is 14).</summary>
    public TimeSpan LoginLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How long a resolved token stays in memory; a token revoked on another Orrery instance can live this long.</summary>
    public TimeSpan TokenCacheLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often recorded activity is written to the database (JupyterHub's activity_resolution).</summary>
    public TimeSpan ActivityResolution { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest token lifetime a user may ask for; null means tokens may never expire.</summary>
    public TimeSpan? MaxTokenLifetime { get; set; }

    /// <summary>The JupyterHub version announced in X-JupyterHub-Version and GET hub/api.</summary>
    public string CompatibleVersion { get; set; } = "3.0.0";
}
