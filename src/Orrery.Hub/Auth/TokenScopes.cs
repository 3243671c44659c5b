namespace Orrery.Hub.Auth;

/// <summary>What a token may do: its requested scopes, expanded, cut down to what its owner holds now.</summary>
public static class TokenScopes
{
    /// <summary>Stored form of "no scopes requested": the token inherits everything its owner has.</summary>
    public const string Inherit = "";

    public static ScopeSet Effective(UserSnapshot owner, string storedScopes)
    {
        if (storedScopes.Length == 0)
            return owner.RoleScopes;
        var requested = Scopes.Expand(storedScopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), owner.Name);
        return new ScopeSet(owner.RoleScopes.Intersect(requested));
    }

    /// <summary>
    /// Checks scopes asked for at creation: every name must exist and the owner must hold each one.
    /// Returns the error message, or null and the normalised stored form.
    /// </summary>
    public static (string? Error, string Stored) Validate(UserSnapshot owner, IReadOnlyList<string>? requested)
    {
        if (requested is null || requested.Count == 0 || (requested.Count == 1 && requested[0] == "inherit"))
            return (null, Inherit);
        var unknown = requested.Where(s => !Scopes.IsKnown(Scope.Parse(s).Name) || s.Contains(' ', StringComparison.Ordinal)).ToList();
        if (unknown.Count > 0)
            return ($"Unknown scopes: {string.Join(", ", unknown)}", Inherit);
        if (requested.Contains("inherit"))
            return ("'inherit' cannot be combined with other scopes", Inherit);
        var bound = requested.Select(s => Scopes.Bind(s, owner.Name).ToString()).Distinct().ToList();
        var notHeld = owner.RoleScopes.NotHeld(Scopes.Expand(bound, owner.Name)).Order(StringComparer.Ordinal).ToList();
        if (notHeld.Count > 0)
            return ($"Not assigning requested scopes {string.Join(", ", notHeld)} not held by User {owner.Name}", Inherit);
        return (null, string.Join(' ', bound));
    }
}
