using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Servers.Homes;
using Orrery.Servers.Profiles;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Servers.Pages;

/// <summary>
/// The home page's "Servers" section: the default server (listed even before it first ran) and the named ones with
/// their state, profile, start and last activity, the link when ready, Start (the spawn page) and Stop buttons, why
/// the last run ended, a form to add a named server, and the home directory's usage against its quota.
/// </summary>
public sealed class ServersHomeSection(
    OrreryDb db, ProfileCatalog profiles, HomeDirectories homes, ActivityTracker activity,
    IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery) : IHomeSection
{
    public async Task<string> RenderAsync(HttpContext context, Caller caller)
    {
        var user = caller.Name;
        var hub = orrery.Value.HubPrefix;
        var rows = await db.Servers.AsNoTracking().Where(s => s.UserId == caller.User.Id)
            .OrderBy(s => s.Name).ToListAsync(context.RequestAborted);
        if (rows.All(s => s.Name.Length > 0))
            rows.Insert(0, new UserServer { Name = "", State = ResourceState.Stopped });   // never started yet

        var html = new StringBuilder("""
            <h2>Servers</h2>
            <table id="servers"><tr><th>Server</th><th>Status</th><th>Profile</th><th>Started</th><th>Last activity</th><th></th></tr>
            """);
        foreach (var row in rows)
        {
            var identity = new ServerIdentity(user, row.Name, orrery.Value.BaseUrl);
            var status = Status(row);
            var active = status != "stopped";
            var name = row.Name.Length == 0 ? "Default server" : $"<code>{Page.E(row.Name)}</code>";
            var link = status == "ready" ? $"""<br><a class="server-link" href="{Page.E(identity.Prefix)}">{Page.E(identity.Prefix)}</a>""" : "";
            var profile = row.Profile.Length == 0 ? "" : profiles.Find(row.Profile)?.DisplayName ?? row.Profile;
            var lastActivity = row.Id == 0 ? null : activity.ServerLastActivity(row.Id, row.LastActivity);
            html.Append($"""
                <tr class="server" data-server="{Page.E(row.Name)}"><td>{name}{link}</td><td class="status">{status}</td><td>{Page.E(profile)}</td>
                <td>{When(active ? row.Started : null)}</td><td>{When(lastActivity)}</td><td>{Actions(context, hub, user, row, status)}</td></tr>
                """);
            if (!active && LastRun(row) is { } lastRun)
                html.Append($"""<tr class="last-run"><td colspan="6" style="white-space: pre-wrap">{Page.E(lastRun)}</td></tr>""");
        }
        html.Append("</table>");

        if (options.Value.AllowNamedServers)
            html.Append($"""
                <form method="get" action="{Page.E(ServerPages.SpawnPath(hub, user, ""))}">
                  <label>New named server <input name="server_name" required pattern="[a-z0-9][a-z0-9._@\-]{"{0,63}"}" placeholder="name"></label>
                  <button type="submit">Add new server</button>
                </form>
                """);

        var used = homes.Usage(user);
        var usage = homes.QuotaBytes is { } quota
            ? $"{ByteSizes.Format(used)} of {ByteSizes.Format(quota)}"
              + (used > quota ? " <span class=\"error\">(over quota: delete files before starting a server)</span>" : "")
            : $"{ByteSizes.Format(used)} (no quota)";
        html.Append($"""<p id="home-usage">Home directory: {usage}</p>""");
        return html.ToString();
    }

    /// <summary>ready, starting, stopping or stopped.</summary>
    internal static string Status(UserServer row) => row.State switch
    {
        ResourceState.Running when !row.StopRequested => "ready",
        ResourceState.Pending or ResourceState.Starting when !row.StopRequested => "starting",
        ResourceState.Running or ResourceState.Pending or ResourceState.Starting or ResourceState.Stopping => "stopping",
        _ => "stopped",
    };

    /// <summary>Why the last run ended: "stopped: idle for 1:00:00", "stopped by alice", "failed: …".</summary>
    private static string? LastRun(UserServer row)
    {
        if (row.Reason is not { Length: > 0 } reason)
            return null;
        var failed = row.State == ResourceState.Failed;
        var word = failed ? "failed" : "stopped";
        var text = reason.StartsWith(word, StringComparison.OrdinalIgnoreCase) || (failed && reason.Contains("failed", StringComparison.OrdinalIgnoreCase))
            ? reason : $"{word}: {reason}";
        return row.Ended is { } ended ? $"{text} ({HubResults.FormatTime(ended)})" : text;
    }

    private static string Actions(HttpContext context, string hub, string user, UserServer row, string status) => status switch
    {
        "ready" => $"""
            <form method="post" action="{hub}home/stop">{Page.AntiforgeryField(context)}<input type="hidden" name="server" value="{Page.E(row.Name)}"><button type="submit">Stop</button></form>
            """,
        "starting" => $"""<a href="{Page.E(ServerPages.PendingPath(hub, user, row.Name))}">progress</a>""",
        "stopped" => $"""<a class="start" href="{Page.E(ServerPages.SpawnPath(hub, user, row.Name))}" role="button" style="{ServerPages.ButtonStyle}">Start</a>""",
        _ => "",
    };

    private static string When(DateTime? time) => time is { } t ? HubResults.FormatTime(t) : "";
}
