namespace Orrery.Servers.OAuth;

/// <summary>Section "Orrery:Servers:OAuth": the OAuth provider personal servers log browsers in through (§2.5).</summary>
public sealed class OAuthOptions
{
    public const string SectionName = "Orrery:Servers:OAuth";

    /// <summary>How long an authorization code may be exchanged for a token (JupyterHub: 5 minutes).</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Lifetime of the access tokens servers get (JupyterHub's <c>oauth_token_expires_in</c>); null = the browser
    /// login's lifetime, <c>Orrery:Hub:LoginLifetime</c> (14 days, as JupyterHub's default follows cookie_max_age_days).
    /// </summary>
    public TimeSpan? TokenLifetime { get; set; }
}
