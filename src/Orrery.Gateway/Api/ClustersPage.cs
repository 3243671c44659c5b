using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Storage;

namespace Orrery.Gateway.Api;

/// <summary>
/// The signed-in user's clusters as a page: status, workers, dashboard link, and why a cluster failed (with the
/// scheduler's last log lines) — the report the client reads has no room for that.
/// </summary>
public static class ClustersPage
{
    public static void Map(RouteGroupBuilder open)
    {
        open.MapGet("/", Show);
        // Not under clusters/<name>/, which is the dashboard proxy's.
        open.MapPost("/keep-running/{name}", SetKeepRunning);
    }

    /// <summary>
    /// A cluster created from a personal server ends with that server; this form lets its owner keep it (or let it
    /// end with the server again).
    /// </summary>
    private static async Task<IResult> SetKeepRunning(string name, HttpContext context, CallerResolver resolver, OrreryDb db, IOptions<OrreryOptions> orrery)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, orrery.Value);
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var keep = form["keep"] == "true";
        var changed = await db.Clusters.Where(c => c.Name == name && c.OwnerId == caller.User.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.KeepRunning, keep), context.RequestAborted);
        return changed == 0
            ? Page.Render(context, "Dask clusters", $"<p>You have no cluster {Page.E(name)}.</p>", caller.Name, 404)
            : Results.Redirect(orrery.Value.ServicePrefix("dask-gateway"));
    }

    private static async Task<IResult> Show(HttpContext context, CallerResolver resolver, OrreryDb db, IOptions<OrreryOptions> orrery)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, orrery.Value);
        var clusters = await db.Clusters.AsNoTracking().Where(c => c.OwnerId == caller.User.Id)
            .OrderByDescending(c => c.Created).Take(50).ToListAsync(context.RequestAborted);
        var workers = await db.Resources.AsNoTracking()
            .Where(r => r.OwnerId == caller.User.Id && r.Kind == Core.Compute.ResourceKind.Worker && r.State == ResourceState.Running)
            .GroupBy(r => r.Parent).Select(g => new { Cluster = g.Key!, Count = g.Count() })
            .ToDictionaryAsync(g => g.Cluster, g => g.Count, context.RequestAborted);
        var html = new StringBuilder("""<table><tr><th>Cluster</th><th>Status</th><th>Workers (running / target)</th><th>Created</th><th></th></tr>""");
        foreach (var cluster in clusters)
        {
            var status = ClusterReport.Status(cluster);
            var dashboard = status == "RUNNING" ? $"""<a href="clusters/{cluster.Name}/status">dashboard</a>""" : "";
            if (cluster.ServerId is not null && !ResourceLifecycle.IsTerminal(cluster.State))
                dashboard += KeepRunningForm(context, cluster.Name, cluster.KeepRunning);
            html.Append($"""
                <tr><td><code>{cluster.Name}</code></td><td>{status}</td><td>{workers.GetValueOrDefault(cluster.Name)} / {cluster.TargetWorkers}{(cluster.Adaptive ? " (adaptive)" : "")}</td>
                <td>{Hub.Api.HubResults.FormatTime(cluster.Created)}</td><td>{dashboard}</td></tr>
                """);
            if (cluster.Warning is { } warning)
                html.Append($"""<tr><td colspan="5"><b>Warning:</b> {Page.E(warning)}</td></tr>""");
            if (cluster.Reason is { } reason)
                html.Append($"""<tr><td colspan="5"><pre>{Page.E(reason)}</pre></td></tr>""");
        }
        html.Append("</table>");
        if (clusters.Count == 0)
            html.Append("<p>No clusters yet. Create one with <code>dask_gateway.Gateway().new_cluster()</code>.</p>");
        return Page.Render(context, "Dask clusters", html.ToString(), caller.Name);
    }

    private static string KeepRunningForm(HttpContext context, string name, bool keep) => $"""
        <form method="post" action="keep-running/{name}" style="display:inline">{Page.AntiforgeryField(context)}
        <input type="hidden" name="keep" value="{(keep ? "false" : "true")}">
        {(keep ? "kept when its server stops " : "ends with its server ")}<button>{(keep ? "End with server" : "Keep running")}</button></form>
        """;
}
