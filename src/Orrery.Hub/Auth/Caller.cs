namespace Orrery.Hub.Auth;

/// <summary>A user as the hub's caches hold it: identity, groups and the scopes its roles grant.</summary>
public sealed record UserSnapshot(long Id, string Name, bool Admin, IReadOnlyList<string> Groups, DateTime Created, DateTime? LastActivity)
{
    private ScopeSet? _roleScopes;

    /// <summary>Everything the user's roles grant, expanded.</summary>
    public ScopeSet RoleScopes => _roleScopes ??= new ScopeSet(Scopes.Expand(Scopes.RoleScopes(Admin), Name));
}

/// <summary>
/// Who is making a request and what they may do: a user, authenticated by an API token (then <see cref="TokenId"/>
/// is set) or by the login cookie. Immutable, so one instance is shared by every request with the same token.
/// </summary>
public sealed record Caller(UserSnapshot User, ScopeSet Scopes, long? TokenId, DateTime? TokenExpiresAt, string? SessionId)
{
    public string Name => User.Name;
}
