using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Gateway.Api;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Gateway.Proxy;

/// <summary>
/// <c>/clusters/&lt;name&gt;/…</c> → the cluster's dashboard with the prefix stripped, for the cluster's owner or an
/// admin only (upstream lets anyone through). The scheduler's unauthenticated <c>/api/</c> routes — which can
/// retire workers — are never reachable from outside. Bodies are streamed both ways.
/// </summary>
public static class DashboardProxy
{
    public const string HttpClientName = "dashboard";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Trailer", "Host",
    };

    public static void Map(RouteGroupBuilder open) => open.Map("/clusters/{name}/{**path}", ForwardAsync);

    private static async Task ForwardAsync(string name, string? path, HttpContext context, OrreryDb db, CallerResolver resolver,
        GatewayAuth gatewayAuth, ClusterRoutes routes, IHttpClientFactory clients, IOptions<OrreryOptions> orrery)
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
        await ProxyAsync(context, new Uri(dashboard!, path + context.Request.QueryString), clients.CreateClient(HttpClientName));
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

    private static async Task ProxyAsync(HttpContext context, Uri target, HttpClient client)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            request.Content = new StreamContent(context.Request.Body);
        foreach (var (key, value) in context.Request.Headers)
        {
            if (HopByHop.Contains(key) || key.Equals("Cookie", StringComparison.OrdinalIgnoreCase) || key.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                continue;
            if (!request.Headers.TryAddWithoutValidation(key, value.ToArray()))
                request.Content?.Headers.TryAddWithoutValidation(key, value.ToArray());
        }
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            await GatewayResults.Error(502, "The cluster's dashboard did not answer").ExecuteAsync(context);
            return;
        }
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (key, value) in response.Headers.Concat(response.Content.Headers))
                if (!HopByHop.Contains(key))
                    context.Response.Headers[key] = value.ToArray();
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
