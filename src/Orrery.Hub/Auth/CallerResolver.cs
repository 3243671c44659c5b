using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Storage;

namespace Orrery.Hub.Auth;

/// <summary>
/// Finds out who a request comes from: an <c>Authorization: token|bearer</c> header, or the login cookie
/// (for API calls only with a same-origin Referer, JupyterHub 3.0's CSRF rule). Results are cached.
/// </summary>
public sealed class CallerResolver(HubCache cache, ActivityTracker activity, TimeProvider time, IOptions<HubOptions> options)
{
    public const string UserIdClaim = "orrery:uid";
    public const string SessionClaim = "orrery:session";

    /// <summary>The secret in <c>Authorization: token X</c> or <c>bearer X</c> (any case), or null.</summary>
    public static string? HeaderToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
            return null;
        var kind = header.AsSpan(0, space);
        if (!kind.Equals("token", StringComparison.OrdinalIgnoreCase) && !kind.Equals("bearer", StringComparison.OrdinalIgnoreCase))
            return null;
        var secret = header.AsSpan(space + 1).Trim();
        return secret.Length is > 0 and <= 512 && !secret.Contains(' ') ? secret.ToString() : null;
    }

    /// <summary>The caller of an API request, or null (the API then answers 403).</summary>
    public async ValueTask<Caller?> ResolveApiCallerAsync(HttpContext context)
    {
        var secret = HeaderToken(context.Request);
        if (secret is not null)
            return await FromTokenAsync(secret, context.RequestServices, context.RequestAborted);
        return IsSameOriginCookieCall(context.Request) ? await FromCookieAsync(context) : null;
    }

    /// <summary>The logged-in user of a page request, or null.</summary>
    public async ValueTask<Caller?> FromCookieAsync(HttpContext context)
    {
        var principal = context.User;
        if (principal.Identity?.IsAuthenticated != true
            || !long.TryParse(principal.FindFirstValue(UserIdClaim), out var userId))
            return null;
        var user = await UserAsync(userId, context.RequestServices, context.RequestAborted);
        if (user is null)
            return null;
        activity.Touch(user.Id, null);
        return new Caller(user, user.RoleScopes, null, null, principal.FindFirstValue(SessionClaim));
    }

    public async ValueTask<Caller?> FromTokenAsync(string secret, IServiceProvider services, CancellationToken cancellationToken)
    {
        var hash = TokenSecrets.Hash(secret);
        var key = Convert.ToHexString(hash);
        var now = time.GetUtcNow().UtcDateTime;
        if (!cache.TryGet(key, out Caller? caller))
        {
            var generation = cache.Generation;
            caller = await LoadTokenAsync(hash, services.GetRequiredService<OrreryDb>(), cancellationToken);
            // Unknown tokens are remembered briefly too, so a flood of bad tokens does not reach the database.
            cache.Set(key, caller, generation, caller is null ? TimeSpan.FromSeconds(5) : options.Value.TokenCacheLifetime);
        }
        if (caller is null || caller.TokenExpiresAt <= now)
            return null;
        activity.Touch(caller.User.Id, caller.TokenId);
        return caller;
    }

    public async ValueTask<UserSnapshot?> UserAsync(long userId, IServiceProvider services, CancellationToken cancellationToken)
    {
        var key = "user:" + userId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (cache.TryGet(key, out UserSnapshot? user))
            return user;
        var generation = cache.Generation;
        user = await LoadUserAsync(services.GetRequiredService<OrreryDb>(), userId, cancellationToken);
        cache.Set(key, user, generation, options.Value.TokenCacheLifetime);
        return user;
    }

    public static Task<UserSnapshot?> LoadUserAsync(OrreryDb db, long userId, CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(UserSnapshot.FromUser)
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>The <see cref="Storage.Entities.ApiToken.Source"/> of a personal server's own token.</summary>
    public const string ServerTokenSource = "server";

    private static async Task<Caller?> LoadTokenAsync(byte[] hash, OrreryDb db, CancellationToken cancellationToken)
    {
        var token = await db.Tokens.AsNoTracking().Where(t => t.Hash == hash)
            .Select(t => new { t.Id, t.Hash, t.UserId, t.Scopes, t.ExpiresAt, t.SessionId, t.Source, t.ServerId })
            .FirstOrDefaultAsync(cancellationToken);
        // The index lookup found the row by hash; the constant-time compare is the real check.
        if (token is null || !CryptographicOperations.FixedTimeEquals(token.Hash, hash))
            return null;
        var user = await LoadUserAsync(db, token.UserId, cancellationToken);
        return user is null ? null : new Caller(user, TokenScopes.Effective(user, token.Scopes), token.Id, token.ExpiresAt, token.SessionId,
            token.Source == ServerTokenSource ? token.ServerId : null);
    }

    /// <summary>JupyterHub ignores the cookie on API calls unless the Referer is same-origin and POST bodies are JSON.</summary>
    private static bool IsSameOriginCookieCall(HttpRequest request)
    {
        if (!Uri.TryCreate(request.Headers.Referer.ToString(), UriKind.Absolute, out var referer)
            || !string.Equals(referer.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase))
            return false;
        var contentType = request.ContentType;
        return HttpMethods.IsGet(request.Method) || string.IsNullOrEmpty(contentType)
               || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
    }
}
