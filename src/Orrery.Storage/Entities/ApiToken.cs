namespace Orrery.Storage.Entities;

/// <summary>An API token. Only the SHA-256 of the secret is stored; the secret is shown once at creation.</summary>
public sealed class ApiToken
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public User? User { get; set; }
    public required byte[] Hash { get; set; }
    public string Note { get; set; } = "";
    /// <summary>Requested scopes, space-separated, owner filters already bound; empty means "inherit the owner's".</summary>
    public string Scopes { get; set; } = "";
    public DateTime Created { get; set; }
    public DateTime? LastActivity { get; set; }
    public DateTime? ExpiresAt { get; set; }
    /// <summary>Where the token came from: "api", "page", "env" (ORRERY_ADMIN_TOKEN), "bootstrap", ….</summary>
    public string Source { get; set; } = "api";
    public string? SessionId { get; set; }
    /// <summary>
    /// The personal server this token belongs to: its own token (Source "server") or one its OAuth client issued
    /// (Source "oauth"). Such tokens are deleted when the server stops.
    /// </summary>
    public long? ServerId { get; set; }
}
