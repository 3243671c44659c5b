using System.Linq.Expressions;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Auth;

/// <summary>A user as the hub's caches hold it: identity, groups and the scopes its roles grant.</summary>
public sealed record UserSnapshot(long Id, string Name, bool Admin, IReadOnlyList<string> Groups, DateTime Created, DateTime? LastActivity)
{
    /// <summary>The one database projection of a user into a snapshot (groups sorted by name).</summary>
    public static readonly Expression<Func<User, UserSnapshot>> FromUser = u =>
        new UserSnapshot(u.Id, u.Name, u.Admin, u.Groups.OrderBy(g => g.Name).Select(g => g.Name).ToList(), u.Created, u.LastActivity);

    private ScopeSet? _roleScopes;

    /// <summary>Everything the user's roles grant, expanded.</summary>
    public ScopeSet RoleScopes => _roleScopes ??= new ScopeSet(Scopes.Expand(Scopes.RoleScopes(Admin), Name));
}

/// <summary>
/// Who is making a request and what they may do: a user, authenticated by an API token (then <see cref="TokenId"/>
/// is set) or by the login cookie. Immutable, so one instance is shared by every request with the same token.
/// </summary>
/// <param name="ServerId">Set when the token is a personal server's own: what it creates belongs to that server.</param>
public sealed record Caller(UserSnapshot User, ScopeSet Scopes, long? TokenId, DateTime? TokenExpiresAt, string? SessionId, long? ServerId = null)
{
    public string Name => User.Name;
}
