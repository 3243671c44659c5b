namespace Orrery.Hub.Auth;

/// <summary>
/// A caller's expanded scopes with the checks the hub API makes: "does the caller hold this scope at all"
/// (else 403) and "does it cover this user/group" (else 404, so existence is not leaked).
/// </summary>
public sealed class ScopeSet
{
    private readonly HashSet<string> _scopes;
    private readonly Dictionary<string, List<string?>> _filtersByName = new(StringComparer.Ordinal);

    public ScopeSet(IEnumerable<string> expanded)
    {
        _scopes = new HashSet<string>(expanded, StringComparer.Ordinal);
        foreach (var scope in _scopes.Select(Scope.Parse))
        {
            if (!_filtersByName.TryGetValue(scope.Name, out var filters))
                _filtersByName[scope.Name] = filters = [];
            filters.Add(scope.Filter);
        }
        Sorted = ReduceForDisplay();
    }

    /// <summary>Sorted, with filtered scopes left out where the unfiltered one is held (what whoami shows).</summary>
    public IReadOnlyList<string> Sorted { get; }

    public bool Has(string name) => _filtersByName.ContainsKey(name);

    public bool HasUnfiltered(string name) => _filtersByName.TryGetValue(name, out var f) && f.Contains(null);

    public bool Contains(string scope) => _scopes.Contains(scope);

    public bool AllowsUser(string name, string user, IReadOnlyCollection<string> userGroups)
    {
        if (!_filtersByName.TryGetValue(name, out var filters))
            return false;
        foreach (var filter in filters)
        {
            if (filter is null || filter == "user=" + user)
                return true;
            if (filter.StartsWith("group=", StringComparison.Ordinal) && userGroups.Contains(filter[6..]))
                return true;
        }
        return false;
    }

    public bool AllowsGroup(string name, string group) =>
        _filtersByName.TryGetValue(name, out var filters) && filters.Any(f => f is null || f == "group=" + group);

    /// <summary>Users named by <c>!user=</c> filters and groups named by <c>!group=</c> filters of a scope.</summary>
    public (HashSet<string> Users, HashSet<string> Groups) Filters(string name)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        var groups = new HashSet<string>(StringComparer.Ordinal);
        if (_filtersByName.TryGetValue(name, out var filters))
            foreach (var filter in filters.OfType<string>())
            {
                if (filter.StartsWith("user=", StringComparison.Ordinal)) users.Add(filter[5..]);
                else if (filter.StartsWith("group=", StringComparison.Ordinal)) groups.Add(filter[6..]);
            }
        return (users, groups);
    }

    /// <summary>
    /// The part of <paramref name="requested"/> (already expanded) that this owner set covers: an exact match,
    /// a name held unfiltered, a server filter under a held user filter; an unfiltered request falls back to the
    /// owner's filtered versions. This is how a token's scopes are cut down to its owner's.
    /// </summary>
    public HashSet<string> Intersect(IEnumerable<string> requested)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in requested.Select(Scope.Parse))
        {
            if (!_filtersByName.TryGetValue(scope.Name, out var held))
                continue;
            if (scope.Filter is null)
            {
                foreach (var filter in held)
                    result.Add(new Scope(scope.Name, filter).ToString());
            }
            else if (Covers(held, scope.Filter))
                result.Add(scope.ToString());
        }
        return result;
    }

    /// <summary>Whether every scope of <paramref name="requested"/> is held as asked (nothing cut down).</summary>
    public IEnumerable<string> NotHeld(IEnumerable<string> requested) =>
        requested.Where(raw =>
        {
            var scope = Scope.Parse(raw);
            return !_filtersByName.TryGetValue(scope.Name, out var held)
                   || !(held.Contains(null) || (scope.Filter is not null && Covers(held, scope.Filter)));
        });

    private static bool Covers(List<string?> held, string filter)
    {
        if (held.Contains(null) || held.Contains(filter))
            return true;
        return filter.StartsWith("server=", StringComparison.Ordinal)
               && held.Contains("user=" + filter["server=".Length..].Split('/')[0]);
    }

    private List<string> ReduceForDisplay() =>
        _scopes.Where(s => Scope.Parse(s) is var p && (p.Filter is null || !HasUnfiltered(p.Name)))
            .Order(StringComparer.Ordinal).ToList();
}
