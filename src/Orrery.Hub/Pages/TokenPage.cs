using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Accounts;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Hub.Pages;

/// <summary>
/// Like JupyterHub's /hub/token: request a token (note, expiry, optional scopes), see it once, list tokens with
/// created / last used / expires, revoke. Plain forms with antiforgery tokens; no script needed.
/// </summary>
public static class TokenPage
{
    private static readonly (string Label, long? Seconds)[] Expiries =
        [("Never", null), ("1 Hour", 3600), ("1 Day", 86400), ("1 Week", 604800)];

    public static void Map(RouteGroupBuilder hub)
    {
        hub.MapGet("/token", Show);
        hub.MapPost("/token", Create);
        // No form fields besides the antiforgery token, so ask for its check explicitly (and Revoke insists on it).
        hub.MapPost("/token/{id}/revoke", Revoke).WithMetadata(new RequireAntiforgeryTokenAttribute());
    }

    private static async Task<IResult> Show(HttpContext context, CallerResolver resolver, OrreryDb db, ActivityTracker activity,
        TimeProvider time, IOptions<OrreryOptions> options)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, options.Value);
        return await Render(context, caller, db, activity, time, newSecret: null, error: null);
    }

    private static async Task<IResult> Create(HttpContext context, [FromForm] string? note, [FromForm] string? expires_in, [FromForm] string? scopes,
        CallerResolver resolver, OrreryDb db, AccountService accounts, ActivityTracker activity, TimeProvider time,
        IOptions<OrreryOptions> options, ILogger<AccountService> logger)
    {
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, options.Value);
        var expiry = Expiries.FirstOrDefault(e => (e.Seconds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "") == (expires_in ?? ""));
        if (expiry.Label is null)
            return await Render(context, caller, db, activity, time, null, "Choose one of the offered expiry times.", 400);
        var requested = (scopes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var (error, stored) = TokenScopes.Validate(caller.User, requested);
        if (error is not null)
            return await Render(context, caller, db, activity, time, null, error, 400);
        var (token, secret) = await accounts.IssueTokenAsync(caller.User.Id, string.IsNullOrWhiteSpace(note) ? "Requested via token page" : note.Trim(),
            expiry.Seconds is { } s ? TimeSpan.FromSeconds(s) : null, stored, "page", context.RequestAborted);
        logger.TokenCreated(token.Id, caller.Name, caller.Name);
        return await Render(context, caller, db, activity, time, secret, null);
    }

    private static async Task<IResult> Revoke(string id, HttpContext context, CallerResolver resolver, OrreryDb db,
        AccountService accounts, IOptions<OrreryOptions> options, ILogger<AccountService> logger)
    {
        // The antiforgery middleware only validates form posts, and nothing here binds the form, so an empty or
        // non-form post (what another site can send) would otherwise get through: require a successful check.
        if (context.Features.Get<IAntiforgeryValidationFeature>() is not { IsValid: true })
            return Page.Render(context, "API Tokens", "<p class=\"error\">Missing or invalid form token; reload the page and try again.</p>", status: 400);
        if (await resolver.FromCookieAsync(context) is not { } caller)
            return HomePage.RedirectToLogin(context, options.Value);
        var tokenId = TokenSecrets.ParsePublicId(id);
        var deleted = tokenId is null ? 0 : await db.Tokens.Where(t => t.Id == tokenId && t.UserId == caller.User.Id).ExecuteDeleteAsync(context.RequestAborted);
        if (deleted == 0)
            return Page.Render(context, "API Tokens", "<p class=\"error\">No such token.</p>", caller.Name, 404);
        await accounts.SaveAsync(context.RequestAborted);
        logger.TokenRevoked(tokenId!.Value, caller.Name, caller.Name);
        return Results.Redirect(options.Value.HubPrefix + "token");
    }

    private static async Task<IResult> Render(HttpContext context, Caller caller, OrreryDb db, ActivityTracker activity, TimeProvider time,
        string? newSecret, string? error, int status = 200)
    {
        var tokens = await TokenPurge.LiveTokensAsync(db, caller.User.Id, time, context.RequestAborted);
        var html = new StringBuilder();
        if (error is not null)
            html.Append($"<p class=\"error\">{Page.E(error)}</p>");
        if (newSecret is not null)
            html.Append($"""<p>Your new API token — copy it now, it will not be shown again:</p><p class="secret" id="new-token">{Page.E(newSecret)}</p>""");
        html.Append($"""
            <h2>Request new API token</h2>
            <form method="post">
              {Page.AntiforgeryField(context)}
              <label>Note <input name="note" placeholder="Requested via token page"></label>
              <label>Token expires <select name="expires_in">{string.Join("", Expiries.Select(e => $"<option value=\"{e.Seconds}\">{e.Label}</option>"))}</select></label>
              <label>Permissions (space-separated scopes; empty = everything you can do)
                <input name="scopes" size="60" placeholder="access:services!service=dask-gateway read:users:name!user"></label>
              <button type="submit">Request new API token</button>
            </form>
            <h2>API Tokens</h2>
            <table><tr><th>Note</th><th>Id</th><th>Last used</th><th>Created</th><th>Expires at</th><th></th></tr>
            """);
        foreach (var token in tokens.OrderByDescending(t => t.Created))
        {
            var id = TokenSecrets.PublicId(token.Id);
            html.Append($"""
                <tr><td>{Page.E(token.Note)}</td><td>{id}</td><td>{When(activity.TokenLastActivity(token.Id, token.LastActivity))}</td>
                <td>{When(token.Created)}</td><td>{When(token.ExpiresAt, "Never")}</td>
                <td><form method="post" action="token/{id}/revoke">{Page.AntiforgeryField(context)}<button type="submit">Revoke</button></form></td></tr>
                """);
        }
        html.Append("</table>");
        return Page.Render(context, "API Tokens", html.ToString(), caller.Name, status);
    }

    private static string When(DateTime? time, string none = "Never") => time is { } t ? HubResults.FormatTime(t) : none;
}
