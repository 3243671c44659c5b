using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Auth;

namespace Orrery.Hub.Pages;

/// <summary>The signed-in landing page (with the sections other modules add, <see cref="IHomeSection"/>), and the redirects that lead to it.</summary>
public static class HomePage
{
    public static void Map(IEndpointRouteBuilder app, RouteGroupBuilder hub, OrreryOptions options)
    {
        app.MapGet(options.BaseUrl, () => Results.Redirect(options.HubPrefix + "home"));
        hub.MapGet("", () => Results.Redirect(options.HubPrefix + "home"));
        hub.MapGet("/home", Show);
    }

    private static async Task<IResult> Show(HttpContext context, CallerResolver resolver, IOptions<OrreryOptions> options)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return RedirectToLogin(context, options.Value);
        var body = $"""
            <p>Signed in as <strong>{Page.E(caller.Name)}</strong>{(caller.User.Admin ? " (admin)" : "")}.</p>
            <p>Groups: {Page.E(caller.User.Groups.Count == 0 ? "none" : string.Join(", ", caller.User.Groups))}</p>
            <p><a href="{options.Value.HubPrefix}token">Manage API tokens</a></p>
            """;
        foreach (var section in context.RequestServices.GetServices<IHomeSection>())
            body += await section.RenderAsync(context, caller);
        return Page.Render(context, "Home", body, caller.Name);
    }

    public static IResult RedirectToLogin(HttpContext context, OrreryOptions options) =>
        Results.Redirect($"{options.HubPrefix}login?next={Uri.EscapeDataString(context.Request.PathBase + context.Request.Path + context.Request.QueryString)}");
}
