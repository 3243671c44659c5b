using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Servers.Profiles;
using Orrery.Servers.Spawning;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Servers.Pages;

/// <summary>
/// The hub's server pages (protocol notes §4.8): the spawn page (choose a profile; <c>?profile=&lt;slug&gt;</c> starts
/// at once), the spawn-pending page (follows the progress stream, §1.9, and goes to the server when it is ready),
/// stop from the home page, the servers section of the home page (<see cref="ServersHomeSection"/>), and the
/// "server not running" answer for the user proxy (<see cref="WriteNotRunningAsync"/>). A user may act on their own
/// servers; acting on someone else's needs the <c>servers</c> scope for them (admins), else 404.
/// </summary>
public static class ServerPages
{
    public static void AddServices(IServiceCollection services)
    {
        services.AddScoped<IHomeSection, ServersHomeSection>();
    }

    /// <param name="hub">The <c>{BaseUrl}hub</c> group.</param>
    public static void Map(RouteGroupBuilder hub)
    {
        hub.MapGet("/spawn", (Func<HttpContext, Task<IResult>>)(context => SpawnPage(context, null, "")));
        hub.MapGet("/spawn/{user}", (HttpContext context, string user) => SpawnPage(context, user, ""));
        hub.MapGet("/spawn/{user}/{server}", SpawnPage);
        hub.MapPost("/spawn", (HttpContext context, [FromForm] string? profile, [FromForm] string? next) =>
            Spawn(context, null, "", profile, next));
        hub.MapPost("/spawn/{user}", (HttpContext context, string user, [FromForm] string? profile, [FromForm] string? next) =>
            Spawn(context, user, "", profile, next));
        hub.MapPost("/spawn/{user}/{server}", Spawn);
        hub.MapGet("/spawn-pending/{user}", (HttpContext context, string user) => PendingPage(context, user, ""));
        hub.MapGet("/spawn-pending/{user}/{server}", PendingPage);
        hub.MapPost("/home/stop", Stop);
    }

    // ---- paths ---------------------------------------------------------------------------------------------------

    /// <summary><c>{hub}spawn/alice</c> or <c>{hub}spawn/alice/gpu</c>.</summary>
    public static string SpawnPath(string hubPrefix, string user, string server) => ServerPath(hubPrefix + "spawn/", user, server);

    /// <summary><c>{hub}spawn-pending/alice</c> or <c>{hub}spawn-pending/alice/gpu</c>.</summary>
    public static string PendingPath(string hubPrefix, string user, string server) => ServerPath(hubPrefix + "spawn-pending/", user, server);

    private static string ServerPath(string root, string user, string server) =>
        server.Length == 0 ? root + Quote(user) : $"{root}{Quote(user)}/{Quote(server)}";

    /// <summary>As <see cref="ServerIdentity"/> quotes names in URLs.</summary>
    private static string Quote(string value) => Uri.EscapeDataString(value).Replace("%40", "@", StringComparison.Ordinal);

    private static string WithNext(string path, string? next) => next is null ? path : $"{path}?next={Uri.EscapeDataString(next)}";

    /// <summary>
    /// Where to go once the server is ready: <paramref name="next"/> only if it is a path on that server (so no open
    /// redirect), else null (the server's own URL).
    /// </summary>
    private static string? SafeNext(string? next, ServerIdentity identity) =>
        !string.IsNullOrEmpty(next) && next.StartsWith(identity.Prefix, StringComparison.Ordinal) && !next.Contains('\\', StringComparison.Ordinal)
            ? next : null;

    // ---- spawn ---------------------------------------------------------------------------------------------------

    private static async Task<IResult> SpawnPage(HttpContext context, string? user, string server)
    {
        var hub = HubPrefix(context);
        if (await Resolver(context).FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, Orrery(context));
        var query = context.Request.Query;
        // The home page's "new named server" form: GET spawn/<user>?server_name=<name>.
        if (server.Length == 0 && query["server_name"].ToString() is { Length: > 0 } named)
        {
            if (ServerIdentity.CheckServerName(named) is { } bad)
                return ErrorPage(context, caller, "Start a server", bad, 400);
            return Results.Redirect(SpawnPath(hub, user ?? caller.Name, named));
        }
        var (target, denied) = await TargetAsync(context, caller, user, server);
        if (target is null)
            return denied!;
        var identity = new ServerIdentity(target.Name, server, Orrery(context).BaseUrl);
        var next = SafeNext(query["next"].ToString(), identity);
        var row = await RowAsync(context, target.Id, server);
        if (row is { State: ResourceState.Running, StopRequested: false })
            return Results.Redirect(next ?? identity.Prefix);
        if (row is { State: ResourceState.Pending or ResourceState.Starting, StopRequested: false })
            return Results.Redirect(WithNext(PendingPath(hub, target.Name, server), next));
        // Options in the query start the server directly, as in JupyterHub.
        if (query.ContainsKey("profile"))
            return await StartAsync(context, caller, target, server, query["profile"].ToString(), next);
        return SpawnForm(context, caller, target, server, next, selected: null, error: null, status: 200);
    }

    private static async Task<IResult> Spawn(HttpContext context, string? user, string server, [FromForm] string? profile, [FromForm] string? next)
    {
        if (context.Features.Get<IAntiforgeryValidationFeature>() is not { IsValid: true })
            return Page.Render(context, "Start a server", FormTokenError, status: 400);
        if (await Resolver(context).FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, Orrery(context));
        var (target, denied) = await TargetAsync(context, caller, user, server);
        if (target is null)
            return denied!;
        return await StartAsync(context, caller, target, server, profile, SafeNext(next, new ServerIdentity(target.Name, server, Orrery(context).BaseUrl)));
    }

    /// <summary>Starts the server with <c>{"profile": slug}</c> and sends the browser to the pending page; a refusal re-renders the form.</summary>
    private static async Task<IResult> StartAsync(HttpContext context, Caller caller, UserSnapshot target, string server, string? slug, string? next)
    {
        JsonElement? userOptions = string.IsNullOrEmpty(slug) ? null
            : JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["profile"] = slug });
        try
        {
            await context.RequestServices.GetRequiredService<ServerManager>().StartAsync(target, server, userOptions, context.RequestAborted);
        }
        catch (HubApiException e)
        {
            return SpawnForm(context, caller, target, server, next, slug, e.Message, e.Status);
        }
        return Results.Redirect(WithNext(PendingPath(HubPrefix(context), target.Name, server), next));
    }

    private static IResult SpawnForm(HttpContext context, Caller caller, UserSnapshot target, string server, string? next,
        string? selected, string? error, int status)
    {
        var profiles = context.RequestServices.GetRequiredService<ProfileCatalog>().ForGroups(target.Groups).ToList();
        var identity = new ServerIdentity(target.Name, server, Orrery(context).BaseUrl);
        var html = new StringBuilder();
        if (error is not null)
            html.Append($"""<p class="error" id="spawn-error" style="white-space: pre-wrap">{Page.E(error)}</p>""");
        if (profiles.Count == 0)
        {
            html.Append($"<p>No server profile is available to {Page.E(target.Name)}.</p>");
            return Page.Render(context, "Start a server", html.ToString(), caller.Name, status);
        }
        var chosen = profiles.FirstOrDefault(p => p.Slug == selected) ?? profiles.FirstOrDefault(p => p.Default) ?? profiles[0];
        var what = server.Length == 0 ? "the default server" : $"the server <strong>{Page.E(server)}</strong>";
        html.Append($"""
            <p>Choose how to start {what} of <strong>{Page.E(target.Name)}</strong> (at <code>{Page.E(identity.Prefix)}</code>).</p>
            <form method="post" action="{Page.E(SpawnPath(HubPrefix(context), target.Name, server))}">
              {Page.AntiforgeryField(context)}
            """);
        if (next is not null)
            html.Append($"""<input type="hidden" name="next" value="{Page.E(next)}">""");
        foreach (var p in profiles)
        {
            html.Append($"""
                <label class="profile" style="border: 1px solid #dde; padding: .5rem; margin: .5rem 0">
                  <input type="radio" name="profile" value="{Page.E(p.Slug)}"{(p == chosen ? " checked" : "")}> <strong>{Page.E(p.DisplayName)}</strong>
                  {(p.Description.Length > 0 ? $"<br><span class=\"description\">{Page.E(p.Description)}</span>" : "")}
                  <br><small class="limits">{Page.E(Limits(p))}</small>
                </label>
                """);
        }
        html.Append("""<button type="submit">Start</button></form>""");
        return Page.Render(context, "Start a server", html.ToString(), caller.Name, status);
    }

    /// <summary>"CPU: 2 cores · memory: 4 GiB · stops after 1 hour idle · runs at most 8 hours".</summary>
    internal static string Limits(ServerProfile p)
    {
        var cpu = p.CpuLimit is { } c ? $"CPU: {c.ToString("0.##", CultureInfo.InvariantCulture)} {(c == 1 ? "core" : "cores")}" : "CPU: no limit";
        var memory = p.MemoryLimitBytes is { } m ? $"memory: {ByteSizes.Format(m)}" : "memory: no limit";
        var idle = p.IdleTimeout is { } i && i > TimeSpan.Zero ? $"stops after {Duration(i)} idle" : "no idle limit";
        var age = p.MaxAge is { } a && a > TimeSpan.Zero ? $"runs at most {Duration(a)}" : "no age limit";
        return $"{cpu} · {memory} · {idle} · {age}";
    }

    /// <summary>"1 hour", "90 minutes", "2 days", else "1:02:03".</summary>
    internal static string Duration(TimeSpan span)
    {
        static string Count(double n, string unit) => $"{n.ToString(CultureInfo.InvariantCulture)} {unit}{(n == 1 ? "" : "s")}";
        if (span.Ticks % TimeSpan.TicksPerDay == 0)
            return Count(span.TotalDays, "day");
        if (span.Ticks % TimeSpan.TicksPerHour == 0)
            return Count(span.TotalHours, "hour");
        if (span.Ticks % TimeSpan.TicksPerMinute == 0)
            return Count(span.TotalMinutes, "minute");
        return span.ToString("g", CultureInfo.InvariantCulture);
    }

    // ---- spawn-pending -------------------------------------------------------------------------------------------

    private static async Task<IResult> PendingPage(HttpContext context, string user, string server)
    {
        if (await Resolver(context).FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, Orrery(context));
        var (target, denied) = await TargetAsync(context, caller, user, server);
        if (target is null)
            return denied!;
        var identity = new ServerIdentity(target.Name, server, Orrery(context).BaseUrl);
        var next = SafeNext(context.Request.Query["next"].ToString(), identity);
        var row = await RowAsync(context, target.Id, server);
        if (row is { State: ResourceState.Running, StopRequested: false })
            return Results.Redirect(next ?? identity.Prefix);
        if (row is not { State: ResourceState.Pending or ResourceState.Starting, StopRequested: false })
            return Results.Redirect(HubPrefix(context) + "home");

        // The progress API takes the login cookie only with a same-origin Referer (CallerResolver). Browsers send one
        // on EventSource requests under their default policy; this makes sure a stricter site-wide policy does not
        // remove it. If the stream still cannot be read, the script reloads this page, which redirects once the
        // server is ready (or to the home page, which shows why it failed).
        context.Response.Headers["Referrer-Policy"] = "same-origin";
        var body = $$"""
            <p>The server <strong>{{Page.E(identity.LogName)}}</strong> is starting up{{(row.Profile.Length > 0 ? $" (profile <code>{Page.E(row.Profile)}</code>)" : "")}}.
            You will be redirected automatically when it is ready.</p>
            <p><progress id="progress-bar" max="100" value="0" style="width: 100%">0%</progress></p>
            <p id="progress-message">Server requested</p>
            <p id="progress-failed" class="error" style="white-space: pre-wrap" hidden></p>
            <details><summary>Event log</summary><ol id="progress-log"></ol></details>
            <p><a href="{{HubPrefix(context)}}home">Home</a></p>
            <script>
            (() => {
              const next = {{JsonSerializer.Serialize(next)}};
              const $ = (id) => document.getElementById(id);
              const source = new EventSource({{JsonSerializer.Serialize(identity.ProgressUrl)}});
              source.onmessage = (message) => {
                const event = JSON.parse(message.data);
                if (event.progress !== undefined) $("progress-bar").value = event.progress;
                $("progress-message").textContent = event.message;
                const item = document.createElement("li");
                item.textContent = event.message;
                $("progress-log").appendChild(item);
                if (event.ready) {
                  source.close();
                  window.location.replace(next || event.url);
                } else if (event.failed) {
                  source.close();
                  $("progress-failed").textContent = event.message;
                  $("progress-failed").hidden = false;
                }
              };
              source.onerror = () => {
                source.close();
                setTimeout(() => window.location.reload(), 3000);
              };
            })();
            </script>
            """;
        return Page.Render(context, "Starting server", body, caller.Name);
    }

    // ---- stop ----------------------------------------------------------------------------------------------------

    private static async Task<IResult> Stop(HttpContext context, [FromForm] string? server)
    {
        if (context.Features.Get<IAntiforgeryValidationFeature>() is not { IsValid: true })
            return Page.Render(context, "Stop server", FormTokenError, status: 400);
        if (await Resolver(context).FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, Orrery(context));
        try
        {
            await context.RequestServices.GetRequiredService<ServerManager>()
                .StopAsync(caller.User, server ?? "", remove: false, stoppedBy: caller.Name, context.RequestAborted);
        }
        catch (HubApiException e)
        {
            return ErrorPage(context, caller, "Stop server", e.Message, e.Status);
        }
        return Results.Redirect(HubPrefix(context) + "home");
    }

    // ---- the user proxy's "not running" answer -------------------------------------------------------------------

    /// <summary>
    /// JupyterHub's answer for a request to a server that is not running (protocol notes §4.8): for API-ish requests
    /// (<paramref name="isApiRequest"/>, see <see cref="IsApiRequest"/>) 424 JSON
    /// <c>{"message": "JupyterHub server no longer running at &lt;path&gt;. Restart the server at &lt;spawn url&gt;"}</c>;
    /// otherwise 303 to the spawn-pending page while a spawn is pending, else a 424 HTML page with a "Launch Server"
    /// link to the spawn page (with <c>next</c> = this request, so the browser comes back here once it is ready).
    /// </summary>
    /// <param name="user">The server's owner (the name in <c>/user/&lt;user&gt;/</c>).</param>
    /// <param name="server">The server name, "" for the default server.</param>
    public static async Task WriteNotRunningAsync(HttpContext context, string user, string server, bool isApiRequest)
    {
        var orrery = Orrery(context);
        var request = context.Request;
        var path = (request.PathBase + request.Path).ToUriComponent();
        // A request that reached the hub as /hub/user/… names the server's public path /user/….
        if (path.StartsWith(orrery.HubPrefix + "user/", StringComparison.Ordinal))
            path = orrery.BaseUrl + path[orrery.HubPrefix.Length..];
        var spawnPath = SpawnPath(orrery.HubPrefix, user, server);
        if (isApiRequest)
        {
            var spawnUrl = $"{request.Scheme}://{request.Host.ToUriComponent()}{spawnPath}";
            await HubResults.Json(StatusCodes.Status424FailedDependency, w =>
            {
                w.WriteStartObject();
                w.WriteString("message", $"JupyterHub server no longer running at {path}. Restart the server at {spawnUrl}");
                w.WriteEndObject();
            }).ExecuteAsync(context);
            return;
        }

        var next = path + request.QueryString.ToUriComponent();
        var row = await context.RequestServices.GetRequiredService<OrreryDb>().Servers.AsNoTracking()
            .Where(s => s.User!.Name == user && s.Name == server)
            .Select(s => new { s.State, s.StopRequested, s.Reason })
            .FirstOrDefaultAsync(context.RequestAborted);
        if (row is { State: ResourceState.Pending or ResourceState.Starting, StopRequested: false })
        {
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            context.Response.Headers.Location = WithNext(PendingPath(orrery.HubPrefix, user, server), next);
            return;
        }
        var caller = await Resolver(context).FromCookieAsync(context);
        var whose = caller?.Name == user
            ? server.Length == 0 ? "Your server" : $"Your server <strong>{Page.E(server)}</strong>"
            : $"The server <strong>{Page.E(new ServerIdentity(user, server, orrery.BaseUrl).LogName)}</strong>";
        var failed = row is { State: ResourceState.Failed, Reason: { } reason }
            ? $"""<p class="error" style="white-space: pre-wrap">The last attempt to run it failed: {Page.E(reason)}</p>"""
            : "";
        var body = $"""
            <p>{whose} is not running. Would you like to start it?</p>
            {failed}
            <p><a id="start" role="button" href="{Page.E(WithNext(spawnPath, next))}" style="{ButtonStyle}">Launch Server</a></p>
            """;
        await Page.Render(context, "Server not running", body, caller?.Name, StatusCodes.Status424FailedDependency).ExecuteAsync(context);
    }

    /// <summary>
    /// JupyterHub's test for an API request to a stopped server: any method but GET/HEAD, an <c>Accept</c> header
    /// that prefers <c>application/json</c> to <c>text/html</c>, or an <c>api</c> segment in the path within the server.
    /// </summary>
    /// <param name="pathInServer">The request path after the server's prefix, e.g. <c>api/status</c>.</param>
    public static bool IsApiRequest(HttpRequest request, string pathInServer)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            return true;
        if (pathInServer.Split('/').Contains("api", StringComparer.Ordinal))
            return true;
        var accepted = request.GetTypedHeaders().Accept
            .OrderByDescending(a => a.Quality ?? 1)
            .Select(a => a.MediaType.Value)
            .FirstOrDefault(m => m is "application/json" or "text/html");
        return accepted == "application/json";
    }

    // ---- shared --------------------------------------------------------------------------------------------------

    /// <summary>A link that looks like a button (the shared page style has none).</summary>
    internal const string ButtonStyle = "display: inline-block; padding: .4rem 1rem; border: 1px solid #357; border-radius: 4px; background: #357; color: #fff; text-decoration: none";

    private const string FormTokenError = "<p class=\"error\">Missing or invalid form token; reload the page and try again.</p>";

    /// <summary>
    /// The user whose server <paramref name="server"/> the caller wants to act on (their own when <paramref name="user"/>
    /// is null), or the error page: 400 for a bad server name, and the hub API's rule for others' servers (the
    /// <c>servers</c> scope for that user, else 403/404).
    /// </summary>
    private static async Task<(UserSnapshot? Target, IResult? Denied)> TargetAsync(HttpContext context, Caller caller, string? user, string server)
    {
        if (ServerIdentity.CheckServerName(server) is { } badName)
            return (null, ErrorPage(context, caller, "Start a server", badName, 400));
        if (server.Length > 0 && !context.RequestServices.GetRequiredService<IOptions<ServersOptions>>().Value.AllowNamedServers)
            return (null, ErrorPage(context, caller, "Start a server", "Named servers are not enabled.", 400));
        try
        {
            var db = context.RequestServices.GetRequiredService<OrreryDb>();
            return (await HubAccess.UserAsync(caller, db, user ?? caller.Name, context.RequestAborted, "servers"), null);
        }
        catch (HubApiException e)
        {
            return (null, ErrorPage(context, caller, "Start a server", e.Message, e.Status));
        }
    }

    private static Task<UserServer?> RowAsync(HttpContext context, long userId, string server) =>
        context.RequestServices.GetRequiredService<OrreryDb>().Servers.AsNoTracking()
            .FirstOrDefaultAsync(s => s.UserId == userId && s.Name == server, context.RequestAborted);

    private static IResult ErrorPage(HttpContext context, Caller caller, string title, string message, int status) =>
        Page.Render(context, title, $"""
            <p class="error" style="white-space: pre-wrap">{Page.E(message)}</p>
            <p><a href="{HubPrefix(context)}home">Home</a></p>
            """, caller.Name, status);

    private static CallerResolver Resolver(HttpContext context) => context.RequestServices.GetRequiredService<CallerResolver>();

    private static OrreryOptions Orrery(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<OrreryOptions>>().Value;

    private static string HubPrefix(HttpContext context) => Orrery(context).HubPrefix;
}
