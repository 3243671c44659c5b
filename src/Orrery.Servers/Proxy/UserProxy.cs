using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Hub.Proxy;
using Orrery.Servers.Pages;
using Orrery.Servers.Spawning;
using Orrery.Storage;

namespace Orrery.Servers.Proxy;

/// <summary>
/// The authenticating proxy at <c>{BaseUrl}user/&lt;name&gt;/[&lt;server&gt;/]…</c> (protocol notes §5): the full path
/// goes to the server unchanged, bodies stream both ways, WebSockets are carried, <c>Host</c>, <c>Authorization</c>
/// and cookies pass untouched (the server does its own OAuth), X-Forwarded-* are added. Only callers holding
/// <c>access:servers</c> for that server get through — by login cookie, token header or <c>?token=</c> (never
/// stripped). Anonymous browsers go to the login page; a server that is not running gets the page that offers to
/// start it. Every proxied request counts as the server's activity (for culling).
/// </summary>
public static class UserProxy
{
    public static void AddServices(IServiceCollection services)
    {
    }

    public static void Map(WebApplication app)
    {
        var orrery = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var prefix = orrery.BaseUrl + "user/{name}";
        app.Map(prefix, (string name, HttpContext context) =>
            Results.Redirect(context.Request.PathBase + context.Request.Path + "/" + context.Request.QueryString));
        app.Map(prefix + "/{**rest}", ForwardAsync);
    }

    private static async Task ForwardAsync(string name, string? rest, HttpContext context, ServerRoutes routes, CallerResolver resolver,
        HttpForwarder forwarder, ActivityTracker activity, OrreryDb db, IOptions<OrreryOptions> orrery)
    {
        var firstSegment = (rest ?? "").Split('/', 2)[0];
        var running = firstSegment.Length > 0 && routes.TryGet(name, firstSegment, out var named) ? named
            : routes.TryGet(name, "", out var standard) ? standard : null;
        var server = running?.Server ?? await StoppedServerNameAsync(db, name, firstSegment, context.RequestAborted);
        var identity = new ServerIdentity(name, server, orrery.Value.BaseUrl);

        var caller = await CallerAsync(context, resolver);
        if (caller is null)
        {
            if (IsApiRequest(context, identity))
                await HubResults.Error(403, "Forbidden").ExecuteAsync(context);
            else
                await HomePage.RedirectToLogin(context, orrery.Value).ExecuteAsync(context);
            return;
        }
        var ownerGroups = running is not null
            ? (await resolver.UserAsync(running.UserId, context.RequestServices, context.RequestAborted))?.Groups ?? []
            : [];
        if (!MayAccess(caller, identity, ownerGroups))
        {
            await HubResults.Error(403, $"{caller.Name} may not access the server at {identity.Prefix}").ExecuteAsync(context);
            return;
        }
        if (running is null)
        {
            await ServerPages.WriteNotRunningAsync(context, name, server, IsApiRequest(context, identity));
            return;
        }
        activity.TouchServer(running.ServerId);
        // Uploads to one's own server (notebooks, data) are not API bodies: no Orrery-wide limit, as with CHP.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;
        var target = new Uri(running.Address, context.Request.PathBase + context.Request.Path + context.Request.QueryString);
        await forwarder.ForwardAsync(context, target, ForwardOptions.Default);
    }

    /// <summary>The login cookie, a token header, or <c>?token=</c> (singleuser accepts it, so links with it work).</summary>
    private static async Task<Caller?> CallerAsync(HttpContext context, CallerResolver resolver)
    {
        var token = CallerResolver.HeaderToken(context.Request) ?? context.Request.Query["token"].FirstOrDefault();
        if (!string.IsNullOrEmpty(token) && await resolver.FromTokenAsync(token, context.RequestServices, context.RequestAborted) is { } byToken)
            return byToken;
        return await resolver.FromCookieAsync(context);
    }

    private static bool MayAccess(Caller caller, ServerIdentity server, IReadOnlyCollection<string> ownerGroups) =>
        caller.Scopes.AllowsUser("access:servers", server.User, ownerGroups) || caller.Scopes.Contains(server.AccessScope);

    /// <summary>A named server of the user if the first segment names one, else the default server ("").</summary>
    private static async Task<string> StoppedServerNameAsync(OrreryDb db, string user, string firstSegment, CancellationToken cancellationToken) =>
        firstSegment.Length > 0 && await db.Servers.AnyAsync(s => s.User!.Name == user && s.Name == firstSegment, cancellationToken)
            ? firstSegment : "";

    private static bool IsApiRequest(HttpContext context, ServerIdentity server)
    {
        var path = (context.Request.PathBase + context.Request.Path).Value ?? "";
        return ServerPages.IsApiRequest(context.Request, path.StartsWith(server.Prefix, StringComparison.Ordinal) ? path[server.Prefix.Length..] : path);
    }
}
