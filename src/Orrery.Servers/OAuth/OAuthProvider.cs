using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Orrery.Core.Configuration;
using Orrery.Hub;
using Orrery.Hub.Accounts;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Hub.Pages;
using Orrery.Storage;

namespace Orrery.Servers.OAuth;

/// <summary>
/// Orrery's OAuth 2 provider for personal servers: JupyterHub's authorization-code flow, exactly as
/// <c>jupyterhub-singleuser</c> drives it (protocol notes §2.5). A browser without the server's cookie is sent to
/// <c>hub/api/oauth2/authorize</c>, which answers with a code on the server's callback; the server exchanges the
/// code at <c>hub/api/oauth2/token</c>, authenticating with its own API token, for an access token it then checks
/// with whoami. Both routes are outside the hub API filter (no caller is required) and answer in OAuth's terms:
/// HTML pages for the browser, <c>{"error": …}</c> JSON for the server.
/// </summary>
public static class OAuthProvider
{
    /// <summary>The <see cref="Storage.Entities.ApiToken.Source"/> of access tokens issued here.</summary>
    public const string TokenSource = TokensApi.OAuthSource;

    public static void AddServices(IServiceCollection services)
    {
        services.AddOptions<OAuthOptions>().BindConfiguration(OAuthOptions.SectionName)
            .Validate(o => o.CodeLifetime > TimeSpan.Zero, "Orrery:Servers:OAuth:CodeLifetime must be positive.")
            .Validate(o => o.TokenLifetime is null || o.TokenLifetime > TimeSpan.Zero, "Orrery:Servers:OAuth:TokenLifetime must be positive.")
            .ValidateOnStart();
        services.AddSingleton<OAuthCodes>();
        services.AddScoped<OAuthClients>();
    }

    /// <param name="hub">The <c>{BaseUrl}hub</c> group.</param>
    public static void Map(RouteGroupBuilder hub)
    {
        hub.MapGet("/api/oauth2/authorize", Authorize);
        // A server-to-hub call authenticated by the client secret, not a browser form: no antiforgery token.
        hub.MapPost("/api/oauth2/token", Token).DisableAntiforgery();
    }

    // ---- authorize: browser → hub → 302 back to the server's callback with a code ---------------------------------

    private static async Task<IResult> Authorize(HttpContext context, CallerResolver callers, OAuthClients clients, OAuthCodes codes,
        IOptions<OrreryOptions> orrery, ILogger<OAuthCodes> logger)
    {
        var cancellationToken = context.RequestAborted;
        var caller = await callers.FromCookieAsync(context);
        if (caller is null)
            return HomePage.RedirectToLogin(context, orrery.Value);

        var query = context.Request.Query;
        if (Duplicate(query, "client_id", "redirect_uri", "response_type", "state") is { } duplicate)
            return ErrorPage(context, caller, 400, $"Duplicate {duplicate} parameter.");
        var clientId = query["client_id"].ToString();
        if (clientId.Length == 0)
            return ErrorPage(context, caller, 400, "Missing client_id parameter.");
        var client = await clients.FindAsync(clientId, cancellationToken);
        if (client is null)
            return ErrorPage(context, caller, 400, $"Invalid client_id parameter value: no running server has the OAuth client {clientId}.");
        var redirectUri = query["redirect_uri"].ToString();
        if (!string.Equals(redirectUri, client.RedirectUri, StringComparison.Ordinal))
            return ErrorPage(context, caller, 400, $"Mismatching redirect URI: {client.Id} redirects only to {client.RedirectUri}.");
        var responseType = query["response_type"].ToString();
        if (responseType != "code")
            return ErrorPage(context, caller, 400, $"Unsupported response_type '{responseType}': only 'code' is supported.");

        var owner = await callers.UserAsync(client.OwnerId, context.RequestServices, cancellationToken);
        if (owner is null)
            return ErrorPage(context, caller, 400, $"Invalid client_id parameter value: no running server has the OAuth client {clientId}.");
        if (!caller.Scopes.AllowsUser("access:servers", owner.Name, owner.Groups) && !caller.Scopes.Contains(client.Identity.AccessScope))
        {
            logger.AccessRefused(caller.Name, client.Id);
            return ErrorPage(context, caller, 403, $"You do not have permission to access {client.Identity.Description}");
        }

        // No confirmation page. JupyterHub skips it for the user's own servers and shows it only when someone else's
        // server (or new scopes) is asked for; in Orrery only admins can reach another user's server, and admins are
        // trusted, so it is never shown. The token asks for nothing beyond access to this one server and identity.
        var code = codes.Issue(caller.User.Id, client, caller.SessionId);
        logger.Authorized(caller.Name, client.Id);
        var location = new StringBuilder(redirectUri).Append("?code=").Append(code);
        if (query.TryGetValue("state", out var state) && state.Count == 1)
            location.Append("&state=").Append(Uri.EscapeDataString(state.ToString()));   // opaque to the hub, passed through
        context.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(location.ToString());
    }

    private static IResult ErrorPage(HttpContext context, Caller caller, int status, string message)
    {
        var title = status == StatusCodes.Status403Forbidden ? "403 : Forbidden" : "400 : Bad Request";
        return Page.Render(context, title, $"<p class=\"error\">{Page.E(message)}</p>", caller.Name, status);
    }

    // ---- token: server → hub, code for an access token ------------------------------------------------------------

    private static async Task<IResult> Token(HttpContext context, OAuthClients clients, OAuthCodes codes, CallerResolver callers,
        AccountService accounts, OrreryDb db, IOptions<OAuthOptions> options, IOptions<HubOptions> hubOptions, ILogger<OAuthCodes> logger)
    {
        var cancellationToken = context.RequestAborted;
        var request = context.Request;
        // Token answers, errors included, must not be cached (RFC 6749 §5.1).
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";

        var form = await ReadFormAsync(request, cancellationToken);
        if (form is null)
            return Error(400, "invalid_request", "The body must be form-encoded (application/x-www-form-urlencoded).");
        if (Duplicate(form, "grant_type", "client_id", "client_secret", "code", "redirect_uri") is { } duplicate)
            return Error(400, "invalid_request", $"Duplicate {duplicate} parameter.");
        var grantType = form["grant_type"].ToString();
        if (grantType.Length == 0)
            return Error(400, "invalid_request", "Missing grant_type parameter.");
        if (grantType != "authorization_code")
            return Error(400, "unsupported_grant_type");

        // Client authentication (RFC 6749 §2.3.1): client_id and client_secret in the body, as singleuser sends them,
        // or HTTP Basic. A missing or wrong secret is 401 invalid_client, as in JupyterHub. Singleuser also sends its
        // token in Authorization; that header is not needed and not looked at.
        var (clientId, secret) = ClientCredentials(form, request);
        var client = clientId is null ? null : await clients.FindAsync(clientId, cancellationToken);
        if (client is null || secret is null || !await clients.SecretMatchesAsync(client, secret, cancellationToken))
        {
            logger.ClientAuthenticationFailed(clientId ?? "(none)", context.Connection.RemoteIpAddress?.ToString());
            return Error(401, "invalid_client");
        }

        var code = form["code"].ToString();
        if (code.Length == 0)
            return Error(400, "invalid_request", "Missing code parameter.");
        var redirectUri = form["redirect_uri"].ToString();
        if (redirectUri.Length == 0)
            return Error(400, "invalid_request", "Missing redirect_uri parameter.");
        // Presenting a code uses it up, whatever comes of it.
        var grant = codes.Take(code);
        if (grant is null || grant.ServerId != client.ServerId || grant.SecretTokenId != client.SecretTokenId
            || !string.Equals(grant.RedirectUri, redirectUri, StringComparison.Ordinal))
            return Error(400, "invalid_grant");
        var user = await callers.UserAsync(grant.UserId, context.RequestServices, cancellationToken);
        if (user is null)
            return Error(400, "invalid_grant");

        // Access to this server plus the identify scopes, so whoami shows exactly what singleuser checks (§1.3).
        var scopes = $"{client.Identity.AccessScope} read:users:name!user={user.Name} read:users:groups!user={user.Name}";
        var lifetime = options.Value.TokenLifetime ?? hubOptions.Value.LoginLifetime;
        var (token, accessToken) = await accounts.IssueTokenAsync(user.Id, client.Identity.Description, lifetime, scopes, TokenSource, cancellationToken);
        token.ServerId = client.ServerId;     // deleted with the server's run, as JupyterHub deletes the client's tokens
        token.SessionId = grant.SessionId;    // deleted at hub logout of that browser login
        await accounts.SaveAsync(cancellationToken);
        // The run may have ended between the checks and the save, deleting its tokens before this one carried its
        // server id; its own token being gone says so, and this one must not outlive it.
        if (!await clients.StillExistsAsync(client, cancellationToken))
        {
            db.Tokens.Remove(token);
            await accounts.SaveAsync(cancellationToken);
            return Error(401, "invalid_client");
        }
        logger.TokenIssued(user.Name, client.Id);
        return HubResults.Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("access_token", accessToken);
            w.WriteNumber("expires_in", (long)lifetime.TotalSeconds);
            w.WriteString("token_type", "Bearer");
            w.WriteString("scope", scopes);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// The form, or null when the body is not form-encoded. The body is read either way, so an oversized one is
    /// refused with 413 like on every other route.
    /// </summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var isForm = MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
                     && type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        if (!isForm)
        {
            await request.Body.CopyToAsync(Stream.Null, cancellationToken);
            return null;
        }
        try
        {
            return await request.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException)   // over the form's key, value or count limits
        {
            return null;
        }
    }

    private static (string? ClientId, string? Secret) ClientCredentials(IFormCollection form, HttpRequest request)
    {
        var clientId = form["client_id"].ToString();
        var secret = form["client_secret"].ToString();
        if (clientId.Length > 0 || secret.Length > 0)
            return (clientId.Length > 0 ? clientId : null, secret.Length > 0 ? secret : null);
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return (null, null);
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            return colon <= 0 ? (null, null)
                : (Uri.UnescapeDataString(pair[..colon].Replace('+', ' ')), Uri.UnescapeDataString(pair[(colon + 1)..].Replace('+', ' ')));
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    /// <summary>The first of <paramref name="names"/> given more than once (OAuth parameters must be single).</summary>
    private static string? Duplicate(IEnumerable<KeyValuePair<string, StringValues>> values, params string[] names) =>
        names.FirstOrDefault(name => values.Any(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase) && kv.Value.Count > 1));

    /// <summary>An OAuth error (RFC 6749 §5.2): <c>{"error": …}</c>, with a description only for malformed requests.</summary>
    private static IResult Error(int status, string error, string? description = null) => HubResults.Json(status, w =>
    {
        w.WriteStartObject();
        w.WriteString("error", error);
        if (description is not null)
            w.WriteString("error_description", description);
        w.WriteEndObject();
    });
}
