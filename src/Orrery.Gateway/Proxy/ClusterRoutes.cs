using System.Collections.Concurrent;
using System.Net;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// Where each running cluster can be reached: its scheduler's TLS endpoint (for the SNI proxy) and its dashboard
/// (for the dashboard proxy). A route is added before the cluster reports RUNNING and removed when it stops.
/// </summary>
public sealed class ClusterRoutes
{
    private readonly ConcurrentDictionary<string, ClusterRoute> _routes = new(StringComparer.Ordinal);

    public void Set(string cluster, IPEndPoint scheduler, Uri? dashboard) => _routes[cluster] = new ClusterRoute(scheduler, dashboard);

    public void Remove(string cluster) => _routes.TryRemove(cluster, out _);

    public bool TryGetScheduler(string cluster, out IPEndPoint scheduler)
    {
        var found = _routes.TryGetValue(cluster, out var route);
        scheduler = route?.Scheduler ?? new IPEndPoint(IPAddress.None, 0);
        return found;
    }

    public bool TryGetDashboard(string cluster, out Uri? dashboard)
    {
        dashboard = _routes.TryGetValue(cluster, out var route) ? route.Dashboard : null;
        return dashboard is not null;
    }

    private sealed record ClusterRoute(IPEndPoint Scheduler, Uri? Dashboard);
}
