using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Accounts;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Hub.Pages;

/// <summary>Login and logout with a cookie; login posts are rate-limited per client address.</summary>
public static class LoginPages
{
    public const string RateLimitPolicy = "login";

    public static void Map(RouteGroupBuilder hub)
    {
        hub.MapGet("/login", Show);
        hub.MapPost("/login", Submit).RequireRateLimiting(RateLimitPolicy);
        hub.MapGet("/logout", Logout);
        hub.MapPost("/logout", Logout);
    }

    private static IResult Show(HttpContext context, string? next) => Form(context, next, error: null, status: 200);

    private static async Task<IResult> Submit(HttpContext context, [FromForm] string? username, [FromForm] string? password,
        [FromForm] string? next, AccountService accounts, IOptions<OrreryOptions> options, ILogger<AccountService> logger)
    {
        var name = (username ?? "").Trim().ToLowerInvariant();
        var user = Names.IsValid(name) && !string.IsNullOrEmpty(password)
            ? await accounts.CheckPasswordAsync(name, password, context.RequestAborted)
            : null;
        if (user is null)
        {
            logger.LoginFailed(name, context.Connection.RemoteIpAddress?.ToString());
            return Form(context, next, "Invalid username or password.", StatusCodes.Status403Forbidden);
        }
        var identity = new ClaimsIdentity(
        [
            new Claim(CallerResolver.UserIdClaim, user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new Claim(ClaimTypes.Name, user.Name),
            new Claim(CallerResolver.SessionClaim, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))),
        ], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
        logger.LoggedIn(user.Name);
        return Results.Redirect(SafeNext(next, options.Value));
    }

    /// <summary>
    /// Ends the browser login and, as JupyterHub does, deletes every token issued under it (the OAuth tokens of the
    /// servers this browser opened), so those servers log the browser out too once their token cache expires.
    /// </summary>
    private static async Task<IResult> Logout(HttpContext context, IOptions<OrreryOptions> options, OrreryDb db, HubCache cache)
    {
        var session = context.User.FindFirstValue(CallerResolver.SessionClaim);
        if (session is not null && long.TryParse(context.User.FindFirstValue(CallerResolver.UserIdClaim), out var userId)
            && await db.Tokens.Where(t => t.UserId == userId && t.SessionId == session).ExecuteDeleteAsync(context.RequestAborted) > 0)
            cache.Invalidate();
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect(options.Value.HubPrefix + "login");
    }

    private static IResult Form(HttpContext context, string? next, string? error, int status)
    {
        var body = $"""
            {(error is null ? "" : $"<p class=\"error\">{Page.E(error)}</p>")}
            <form method="post">
              {Page.AntiforgeryField(context)}
              <input type="hidden" name="next" value="{Page.E(next)}">
              <label>Username <input name="username" autocomplete="username" autofocus required></label>
              <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
              <button type="submit">Sign in</button>
            </form>
            """;
        return Page.Render(context, "Sign in", body, status: status);
    }

    /// <summary>Only paths under Orrery's own prefix are followed after login; anything else could be an open redirect.</summary>
    public static string SafeNext(string? next, OrreryOptions options) =>
        next is { Length: > 0 } && next.StartsWith(options.BaseUrl, StringComparison.Ordinal)
            && !next.StartsWith("//", StringComparison.Ordinal) && !next.Contains('\\', StringComparison.Ordinal)
            ? next
            : options.HubPrefix + "home";
}
