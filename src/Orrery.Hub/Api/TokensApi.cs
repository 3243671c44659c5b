using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Hub.Accounts;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Api;

/// <summary>JupyterHub's token API under <c>users/&lt;name&gt;/tokens</c>.</summary>
public static class TokensApi
{
    public static void Map(RouteGroupBuilder anonymous, RouteGroupBuilder api)
    {
        api.MapGet("/users/{name}/tokens", List);
        // Creating a token also works with no token at all, by username and password in the body.
        anonymous.MapPost("/users/{name}/tokens", Create).AddEndpointFilter(new HubApiFilter(requireCaller: false));
        api.MapGet("/users/{name}/tokens/{id}", Get);
        api.MapDelete("/users/{name}/tokens/{id}", Delete);
    }

    private static async Task<IResult> List(string name, HttpContext context, OrreryDb db, ActivityTracker activity, TimeProvider time)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "read:tokens");
        var tokens = await TokenPurge.LiveTokensAsync(db, user.Id, time, context.RequestAborted);
        var ordered = tokens.OrderByDescending(t => activity.TokenLastActivity(t.Id, t.LastActivity) ?? DateTime.MinValue).ThenBy(t => t.Id);
        return HubResults.Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("api_tokens");
            foreach (var token in ordered)
                Write(w, token, user, activity);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Get(string name, string id, HttpContext context, OrreryDb db, ActivityTracker activity, TimeProvider time)
    {
        var user = await HubAccess.UserAsync(context.Caller(), db, name, context.RequestAborted, "read:tokens");
        var token = await FindAsync(db, user, id, time, context.RequestAborted);
        return HubResults.Json(w => Write(w, token, user, activity));
    }

    /// <summary><see cref="Storage.Entities.ApiToken.Source"/> of tokens a server's OAuth client issued.</summary>
    public const string OAuthSource = "oauth";

    private static async Task<IResult> Delete(string name, string id, HttpContext context, OrreryDb db, AccountService accounts, TimeProvider time, ILogger<AccountService> logger)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "tokens");
        var token = await FindAsync(db, user, id, time, context.RequestAborted);
        db.Tokens.Remove(token);
        // Revoking an OAuth token revokes the user's every token from the same client (that server's run).
        if (token.Source == OAuthSource)
            db.Tokens.RemoveRange(await db.Tokens.Where(t => t.UserId == user.Id && t.Source == OAuthSource && t.ServerId == token.ServerId && t.Id != token.Id)
                .ToListAsync(context.RequestAborted));
        await accounts.SaveAsync(context.RequestAborted);
        logger.TokenRevoked(token.Id, user.Name, caller.Name);
        return HubResults.Empty(204);
    }

    private static async Task<IResult> Create(string name, HttpContext context, OrreryDb db, AccountService accounts,
        ActivityTracker activity, IOptions<HubOptions> options, ILogger<AccountService> logger)
    {
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        var caller = context.OptionalCaller() ?? await CallerFromPasswordAsync(body, db, accounts, context);
        var owner = await HubAccess.FindUserAsync(db, name, context.RequestAborted);
        if (owner is null || !caller.Scopes.AllowsUser("tokens", name, owner.Groups))
            throw new HubApiException(403, $"User {name} not found or no permissions to generate tokens");

        var note = body.String("note") ?? "Requested via api";
        if (caller.Name != owner.Name && !body.Has("note"))
            note += $" by user {caller.Name}";
        var expiresIn = ExpiresIn(body, options.Value);
        var (error, stored) = TokenScopes.Validate(owner, body.Strings("scopes"));
        if (error is not null)
            throw new HubApiException(400, error);

        var (token, secret) = await accounts.IssueTokenAsync(owner.Id, note, expiresIn, stored, "api", context.RequestAborted);
        logger.TokenCreated(token.Id, owner.Name, caller.Name);
        return HubResults.Json(201, w => Write(w, token, owner, activity, secret));
    }

    /// <summary>The body form <c>{"auth": {"username": …, "password": …}}</c>, for callers without a token.</summary>
    private static async Task<Caller> CallerFromPasswordAsync(HubBody body, OrreryDb db, AccountService accounts, HttpContext context)
    {
        var auth = body.Object("auth");
        if (auth.String("username") is not { } username || auth.String("password") is not { } password)
            throw HubApiException.Forbidden();
        var user = await accounts.CheckPasswordAsync(username, password, context.RequestAborted) ?? throw HubApiException.Forbidden();
        var snapshot = await CallerResolver.LoadUserAsync(db, user.Id, context.RequestAborted) ?? throw HubApiException.Forbidden();
        return new Caller(snapshot, snapshot.RoleScopes, null, null, null);
    }

    private static TimeSpan? ExpiresIn(HubBody body, HubOptions options)
    {
        var seconds = body.Number("expires_in");
        if (seconds is <= 0 or > 100L * 365 * 24 * 3600)
            throw new HubApiException(400, "'expires_in' must be a positive number of seconds (or null for never)");
        var lifetime = seconds is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
        if (options.MaxTokenLifetime is { } max && (lifetime is null || lifetime > max))
            throw new HubApiException(400, $"'expires_in' must be at most {max.TotalSeconds:0} seconds");
        return lifetime;
    }

    private static async Task<ApiToken> FindAsync(OrreryDb db, UserSnapshot user, string id, TimeProvider time, CancellationToken cancellationToken)
    {
        var tokenId = TokenSecrets.ParsePublicId(id) ?? throw HubApiException.NotFound();
        var now = time.GetUtcNow().UtcDateTime;
        var token = await db.Tokens.FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == user.Id, cancellationToken);
        return token is null || token.ExpiresAt <= now ? throw HubApiException.NotFound() : token;
    }

    internal static void Write(Utf8JsonWriter w, ApiToken token, UserSnapshot owner, ActivityTracker activity, string? secret = null)
    {
        w.WriteStartObject();
        w.WriteString("user", owner.Name);
        w.WriteString("id", TokenSecrets.PublicId(token.Id));
        w.WriteString("kind", "api_token");
        w.WriteStrings("roles", []);
        w.WriteStrings("scopes", TokenScopes.Effective(owner, token.Scopes).Sorted);
        w.WriteTime("created", token.Created);
        w.WriteTime("last_activity", activity.TokenLastActivity(token.Id, token.LastActivity));
        w.WriteTime("expires_at", token.ExpiresAt);
        w.WriteString("note", token.Note);
        w.WriteString("session_id", token.SessionId);
        // OAuth tokens name the server whose client issued them ("Server at /user/alice/"), as JupyterHub does.
        w.WriteString("oauth_client", token.Source == OAuthSource ? token.Note : "JupyterHub");
        if (secret is not null)
            w.WriteString("token", secret);
        w.WriteEndObject();
    }
}
