using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Environments.Specs;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Storage;

namespace Orrery.Environments.Pages;

/// <summary>
/// The environments the signed-in user can use (all of them for an admin): state, versions, who shares them, the failing step of a failed
/// build, every package (folded), and how to submit one.
/// </summary>
public static class EnvironmentsPage
{
    public static async Task<IResult> Show(HttpContext context, CallerResolver resolver, OrreryDb db, IOptions<OrreryOptions> orrery)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, orrery.Value);
        var rows = await db.Environments.AsNoTracking().Include(e => e.Owner).Where(EnvironmentAccess.VisibleTo(caller.User))
            .OrderByDescending(e => e.Id).Take(100).ToListAsync(context.RequestAborted);
        var html = new StringBuilder("<table><tr><th>Name</th><th>Id</th><th>Owner</th><th>Kind</th><th>State</th><th>python / dask / distributed</th><th>Shared with</th><th>Packages</th></tr>");
        foreach (var e in rows)
        {
            var versions = JsonSerializer.Deserialize<Dictionary<string, string>>(e.VersionsJson) ?? [];
            var packages = JsonSerializer.Deserialize<List<Package>>(e.PackagesJson) ?? [];
            var list = string.Join("", packages.Select(p => $"<li>{Page.E(p.Name)} {Page.E(p.Version)}</li>"));
            html.Append($"""
                <tr><td>{Page.E(e.Name)}{(e.DefaultForProfile is { } p ? $" (default of profile {Page.E(p)})" : "")}</td><td><code>{e.ContentId}</code></td>
                <td>{Page.E(e.Owner!.Name)}</td><td>{e.Kind}</td><td>{e.State.ToString().ToLowerInvariant()}</td>
                <td>{Page.E(string.Join(" / ", EnvironmentVersionsText(versions)))}</td><td>{Page.E(e.SharedWithGroup ?? "private")}</td>
                <td><details><summary>{packages.Count}</summary><ul>{list}</ul></details></td></tr>
                """);
            if (SpecJson.Read(e.SpecJson).Welcome is { } welcome)
                html.Append($"""<tr><td colspan="8">{Page.E(welcome)}</td></tr>""");
            if (e.FailedStep is { } step)
                html.Append($"""<tr><td colspan="8">Failed in step <b>{Page.E(step)}</b>:<pre>{Page.E(e.Reason)}</pre></td></tr>""");
        }
        html.Append("</table>");
        if (rows.Count == 0)
            html.Append("<p>No environments yet.</p>");
        html.Append($"""
            <p>Submit one with its local libraries (see docs/environments.md):</p>
            <pre>curl -H "Authorization: token $TOKEN" -F spec=@environment.yaml -F bundle=@libraries.zip {Page.E(orrery.Value.ServicePrefix("environments"))}api/v1/environments</pre>
            """);
        return Page.Render(context, "Environments", html.ToString(), caller.Name);
    }

    private static IEnumerable<string> EnvironmentVersionsText(Dictionary<string, string> versions) =>
        Core.Environments.EnvironmentVersions.Compared.Select(p => versions.GetValueOrDefault(p, "–"));

    private sealed record Package(string Name, string Version);
}
