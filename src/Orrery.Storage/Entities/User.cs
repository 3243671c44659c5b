namespace Orrery.Storage.Entities;

public sealed class User
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public bool Admin { get; set; }
    /// <summary>ASP.NET Core Identity password hash; null for accounts that cannot log in with a password.</summary>
    public string? PasswordHash { get; set; }
    public DateTime Created { get; set; }
    public DateTime? LastActivity { get; set; }
    public List<Group> Groups { get; set; } = [];
    public List<ApiToken> Tokens { get; set; } = [];
}
