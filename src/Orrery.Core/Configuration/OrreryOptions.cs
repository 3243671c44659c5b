namespace Orrery.Core.Configuration;

/// <summary>Server-wide settings (section "Orrery"); every one is listed in docs/configuration.md.</summary>
public sealed class OrreryOptions
{
    public const string SectionName = "Orrery";

    /// <summary>Where Orrery keeps its database (SQLite), process logs and homes. Env: ORRERY_DATA_DIR.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>URL prefix everything lives under; the hub is at {BaseUrl}hub/. Starts and ends with '/'.</summary>
    public string BaseUrl { get; set; } = "/";

    /// <summary>The URL users reach Orrery at, when different from the listen address (behind a proxy).</summary>
    public string? PublicUrl { get; set; }

    /// <summary>When set, this exact value is an API token of the admin user (for automation). Env: ORRERY_ADMIN_TOKEN.</summary>
    public string? AdminToken { get; set; }

    /// <summary>Name of the admin account created on first start.</summary>
    public string AdminUser { get; set; } = "admin";

    /// <summary>Largest request body accepted by default, in bytes; larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Name of the backend used when a profile or option does not choose one.</summary>
    public string DefaultBackend { get; set; } = "local";

    public string HubPrefix => BaseUrl + "hub/";

    public string ServicePrefix(string service) => $"{BaseUrl}services/{service}/";

    /// <summary>Normalises and checks values; returns the problems found (empty when valid).</summary>
    public IEnumerable<string> Validate()
    {
        if (!BaseUrl.StartsWith('/') || !BaseUrl.EndsWith('/'))
            yield return $"Orrery:BaseUrl must start and end with '/', got '{BaseUrl}'.";
        if (string.IsNullOrWhiteSpace(DataDir))
            yield return "Orrery:DataDir (ORRERY_DATA_DIR) must be set.";
        if (AdminToken is { Length: > 0 and < 16 })
            yield return "ORRERY_ADMIN_TOKEN must be at least 16 characters.";
        if (MaxRequestBodyBytes <= 0)
            yield return "Orrery:MaxRequestBodyBytes must be positive.";
    }
}
