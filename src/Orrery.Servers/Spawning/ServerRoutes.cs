using System.Collections.Concurrent;

namespace Orrery.Servers.Spawning;

/// <summary>Where a ready server is, for the proxy.</summary>
public sealed record ServerRoute(long ServerId, long UserId, string User, string Server, Uri Address);

/// <summary>
/// The proxy's table of ready servers, keyed <c>user/server</c> (<c>alice/</c> for the default server). Only the
/// server reconciler writes it: a route appears once a server answers and goes before it is stopped.
/// </summary>
public sealed class ServerRoutes
{
    private readonly ConcurrentDictionary<string, ServerRoute> _routes = new(StringComparer.Ordinal);

    public void Publish(ServerRoute route) => _routes[Key(route.User, route.Server)] = route;

    public void Remove(string user, string server) => _routes.TryRemove(Key(user, server), out _);

    public bool TryGet(string user, string server, out ServerRoute route) => _routes.TryGetValue(Key(user, server), out route!);

    public IReadOnlyCollection<ServerRoute> All => _routes.Values.ToList();

    private static string Key(string user, string server) => user + "/" + server;
}
