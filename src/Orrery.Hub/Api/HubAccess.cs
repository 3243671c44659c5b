using Microsoft.EntityFrameworkCore;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Hub.Api;

/// <summary>
/// The hub API's authorization rule in one place: no scope of the needed name → 403; a scope whose filter
/// does not cover the target → 404 (existence is not leaked); covered but missing → 404 "Not Found".
/// </summary>
public static class HubAccess
{
    public static Task<UserSnapshot?> FindUserAsync(OrreryDb db, string name, CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().Where(u => u.Name == name)
            .Select(UserSnapshot.FromUser)
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>Loads user <paramref name="name"/> if the caller holds any of <paramref name="scopes"/> for them.</summary>
    public static async Task<UserSnapshot> UserAsync(Caller caller, OrreryDb db, string name, CancellationToken cancellationToken, params string[] scopes)
    {
        if (!scopes.Any(caller.Scopes.Has))
            throw HubApiException.MissingScope(string.Join(", ", scopes));
        var target = await FindUserAsync(db, name, cancellationToken);
        if (!scopes.Any(s => caller.Scopes.AllowsUser(s, name, target?.Groups ?? [])))
            throw HubApiException.NoAccess();
        return target ?? throw HubApiException.NotFound();
    }

    public static void Require(Caller caller, string scope)
    {
        if (!caller.Scopes.Has(scope))
            throw HubApiException.MissingScope(scope);
    }

    public static void RequireGroup(Caller caller, string scope, string group)
    {
        Require(caller, scope);
        if (!caller.Scopes.AllowsGroup(scope, group))
            throw HubApiException.NoAccess();
    }
}
