using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Gateway.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Proxy;
using Orrery.Storage;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// <c>/clusters/&lt;name&gt;/…</c> → the cluster's dashboard with the prefix stripped, for the cluster's owner or an
/// admin only (upstream lets anyone through). The scheduler's unauthenticated <c>/api/</c> routes — which can
/// retire workers — are never reachable from outside. Bodies stream both ways and WebSockets (Bokeh's live plots)
/// are carried, through the hub's <see cref="HttpForwarder"/>.
/// </summary>
public static class DashboardProxy
{
    /// <summary>
    /// The dashboard is a backend of Orrery's, not of the user's: it gets neither the user's Orrery credentials nor
    /// cookies. It does get the public Host, as behind upstream's Traefik: Tornado's WebSocket handlers (e.g.
    /// distributed's <c>eventstream</c>) refuse a browser whose Origin does not match the Host.
    /// </summary>
    private static readonly ForwardOptions Forwarding = new()
    {
        PassAuthorization = false,
        PassCookies = false,
        OnUnreachable = context => GatewayResults.Error(502, "The cluster's dashboard did not answer").ExecuteAsync(context),
    };

    public static void Map(RouteGroupBuilder open) => open.Map("/clusters/{name}/{**path}", ForwardAsync);

    private static async Task ForwardAsync(string name, string? path, HttpContext context, OrreryDb db, CallerResolver resolver,
        GatewayAuth gatewayAuth, ClusterRoutes routes, HttpForwarder forwarder, IOptions<OrreryOptions> orrery)
    {
        var caller = await CallerAsync(context, resolver, gatewayAuth);
        if (caller is null)
        {
            await RedirectToLoginAsync(context, orrery.Value);
            return;
        }
        var owner = await db.Clusters.Where(c => c.Name == name).Select(c => (long?)c.OwnerId).FirstOrDefaultAsync(context.RequestAborted);
        if (owner is null || !routes.TryGetDashboard(name, out var dashboard))
        {
            await GatewayResults.Error(404, $"Cluster {name} not found or not running").ExecuteAsync(context);
            return;
        }
        if (owner != caller.User.Id && !caller.User.Admin)
        {
            await GatewayResults.Error(403, $"User {caller.Name} lacks permissions to view cluster {name}").ExecuteAsync(context);
            return;
        }
        path ??= "";
        if (IsSchedulerApi(path))
        {
            await GatewayResults.Error(404, "The scheduler API is not available through the dashboard proxy").ExecuteAsync(context);
            return;
        }
        await forwarder.ForwardAsync(context, new Uri(dashboard!, path + context.Request.QueryString), Forwarding);
    }

    /// <summary>Blocks api/… in any spelling the dashboard server would also resolve to it (case, dot segments, slashes).</summary>
    public static bool IsSchedulerApi(string path)
    {
        var segments = Uri.UnescapeDataString(path).Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s != ".").ToList();
        return segments.Count == 0 ? false : segments.Contains("..") || segments[0].Equals("api", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The gateway's own credentials (cookie, token, Basic), else a browser's Orrery login.</summary>
    private static async Task<Caller?> CallerAsync(HttpContext context, CallerResolver resolver, GatewayAuth gatewayAuth) =>
        (await gatewayAuth.AuthenticateAsync(context)).Caller ?? await resolver.FromCookieAsync(context);

    private static async Task RedirectToLoginAsync(HttpContext context, OrreryOptions orrery)
    {
        var here = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
        context.Response.Redirect($"{orrery.HubPrefix}login?next={Uri.EscapeDataString(here)}");
        await Task.CompletedTask;
    }
}
