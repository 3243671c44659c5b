namespace Orrery.Hub.Auth;

/// <summary>
/// JupyterHub 3.x scope vocabulary: which scopes exist, what each implies, and the default roles.
/// Clients (singleuser, dask-gateway, kbatch) compare the expanded strings, so expansion must match exactly.
/// </summary>
public static class Scopes
{
    private static readonly Dictionary<string, string[]> Subscopes = new()
    {
        ["admin:users"] = ["admin:auth_state", "users", "read:roles:users", "delete:users"],
        ["users"] = ["read:users", "list:users", "users:activity"],
        ["read:users"] = ["read:users:name", "read:users:groups", "read:users:activity"],
        ["list:users"] = ["read:users:name"],
        ["users:activity"] = ["read:users:activity"],
        ["admin:servers"] = ["admin:server_state", "servers"],
        ["servers"] = ["read:servers", "delete:servers"],
        ["read:servers"] = ["read:users:name"],
        ["tokens"] = ["read:tokens"],
        ["admin:groups"] = ["groups", "read:roles:groups", "delete:groups"],
        ["groups"] = ["read:groups", "list:groups"],
        ["list:groups"] = ["read:groups:name"],
        ["read:groups"] = ["read:groups:name"],
        ["list:services"] = ["read:services:name"],
        ["read:services"] = ["read:services:name"],
        ["read:roles"] = ["read:roles:users", "read:roles:services", "read:roles:groups"],
    };

    private static readonly HashSet<string> Leaves =
    [
        "admin:auth_state", "read:users:name", "read:users:groups", "read:users:activity", "delete:users",
        "read:roles:users", "read:roles:services", "read:roles:groups", "admin:server_state", "delete:servers",
        "access:servers", "read:tokens", "read:groups:name", "delete:groups", "read:services:name",
        "access:services", "read:hub", "proxy", "shutdown", "read:metrics", "admin-ui",
    ];

    /// <summary>The user's own resources; what the <c>self</c> metascope means.</summary>
    public static readonly string[] Self =
    [
        "read:users", "read:users:name", "read:users:groups", "users:activity", "read:users:activity",
        "servers", "delete:servers", "read:servers", "tokens", "read:tokens", "access:servers",
    ];

    public static readonly string[] AdminRole =
    [
        "admin-ui", "admin:users", "admin:servers", "tokens", "admin:groups", "list:services", "read:services",
        "read:hub", "proxy", "shutdown", "access:services", "access:servers", "read:roles", "read:metrics",
    ];

    /// <summary>
    /// The user role: <c>self</c> plus access to Orrery's own services, so a token copied from the token page
    /// passes the <c>access:services!service=…</c> check dask-gateway, kbatch and the environments service make.
    /// </summary>
    public static readonly string[] UserRole =
        ["self", "access:services!service=dask-gateway", "access:services!service=kbatch", "access:services!service=environments"];

    /// <summary>
    /// Scopes of the tokens Orrery hands to what it runs for a user (a server's JUPYTERHUB_API_TOKEN, a job's):
    /// the user's own resources and Orrery's services, never admin rights even for an admin.
    /// </summary>
    public const string Workload = "self access:services!service=dask-gateway access:services!service=kbatch access:services!service=environments";

    public static bool IsKnown(string name) =>
        Subscopes.ContainsKey(name) || Leaves.Contains(name) || name is "self" or "inherit" || name.StartsWith("custom:", StringComparison.Ordinal);

    /// <summary>Role scopes of a user, before expansion.</summary>
    public static IEnumerable<string> RoleScopes(bool admin) => admin ? UserRole.Concat(AdminRole) : UserRole;

    public static IEnumerable<string> Roles(bool admin) => admin ? ["admin", "user"] : ["user"];

    /// <summary>
    /// Expands metascopes and subscopes for scopes owned by <paramref name="owner"/>, binding bare filters
    /// (<c>!user</c>, <c>!server</c>) to the owner. A filter carries over to every subscope.
    /// </summary>
    public static HashSet<string> Expand(IEnumerable<string> scopes, string owner)
    {
        var expanded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in scopes)
        {
            var scope = Bind(raw, owner);
            if (scope.Name == "self")
            {
                foreach (var name in Self)
                    expanded.Add($"{name}!user={owner}");
                continue;
            }
            AddWithSubscopes(expanded, scope.Name, scope.Filter);
        }
        return expanded;
    }

    /// <summary>Turns bare owner filters into explicit ones: <c>read:users!user</c> → <c>read:users!user=alice</c>.</summary>
    public static Scope Bind(string raw, string owner)
    {
        var scope = Scope.Parse(raw);
        return scope.Filter switch
        {
            "user" => scope with { Filter = $"user={owner}" },
            "server" => scope with { Filter = $"server={owner}/" },
            _ => scope,
        };
    }

    private static void AddWithSubscopes(HashSet<string> expanded, string name, string? filter)
    {
        if (!expanded.Add(filter is null ? name : $"{name}!{filter}"))
            return;
        if (Subscopes.TryGetValue(name, out var children))
            foreach (var child in children)
                AddWithSubscopes(expanded, child, filter);
        // A server-filtered read also lets the reader see the owner's name.
        if (name == "read:servers" && filter is not null && filter.StartsWith("server=", StringComparison.Ordinal))
            expanded.Add($"read:users:name!user={filter["server=".Length..].Split('/')[0]}");
    }
}

/// <summary>One scope: a name and an optional filter such as <c>user=alice</c>, <c>group=g</c>, <c>server=alice/</c>.</summary>
public readonly record struct Scope(string Name, string? Filter)
{
    public static Scope Parse(string raw)
    {
        var bang = raw.IndexOf('!', StringComparison.Ordinal);
        return bang < 0 ? new Scope(raw, null) : new Scope(raw[..bang], raw[(bang + 1)..]);
    }

    public override string ToString() => Filter is null ? Name : $"{Name}!{Filter}";
}
