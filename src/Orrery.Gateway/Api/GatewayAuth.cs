using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Hub.Accounts;
using Orrery.Hub.Auth;

namespace Orrery.Gateway.Api;

/// <summary>
/// dask-gateway's authentication: a cookie from an earlier success, else <c>Authorization: jupyterhub|token|Bearer
/// &lt;Orrery token&gt;</c> or <c>Basic</c> (user and password, or user and one of their tokens). The caller must
/// hold <c>access:services</c> for this service. The cookie is <c>dask-gateway-&lt;hex&gt;</c> (a new name per server
/// process, as upstream), 600 s, and maps to an in-memory entry kept 300 s.
/// </summary>
public sealed class GatewayAuth(CallerResolver resolver, IOptions<GatewayOptions> options) : IDisposable
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(300);
    private readonly MemoryCache _sessions = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    public string CookieName { get; } = "dask-gateway-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The caller, and whether a new cookie should be set for it (it came from a header).</summary>
    public async Task<(Caller? Caller, bool FromHeader)> AuthenticateAsync(HttpContext context)
    {
        if (context.Request.Cookies.TryGetValue(CookieName, out var session) && _sessions.TryGetValue(session, out Caller? cached))
            return (cached, false);
        var caller = await FromHeaderAsync(context);
        return (caller is not null && MayUse(caller) ? caller : null, true);
    }

    /// <summary>Remembers <paramref name="caller"/> under a new cookie on the response.</summary>
    public void IssueCookie(HttpContext context, Caller caller)
    {
        var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _sessions.Set(session, caller, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = CacheLifetime });
        context.Response.Headers.Append("Set-Cookie", $"{CookieName}={session}; Max-Age=600; Path=/");
    }

    private bool MayUse(Caller caller) =>
        caller.Scopes.Contains("access:services") || caller.Scopes.Contains($"access:services!service={options.Value.ServiceName}");

    private async Task<Caller?> FromHeaderAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
            return null;
        var scheme = header[..space];
        var credentials = header[(space + 1)..].Trim();
        if (scheme.Equals("jupyterhub", StringComparison.OrdinalIgnoreCase) || scheme.Equals("token", StringComparison.OrdinalIgnoreCase)
            || scheme.Equals("bearer", StringComparison.OrdinalIgnoreCase))
            return credentials.Length is > 0 and <= 512 ? await resolver.FromTokenAsync(credentials, context.RequestServices, context.RequestAborted) : null;
        if (!scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) || DecodeBasic(credentials) is not var (user, password))
            return null;
        // A token as the password is how scripts use Basic without a stored password.
        if (password.Length is > 0 and <= 512 && await resolver.FromTokenAsync(password, context.RequestServices, context.RequestAborted) is { } byToken)
            return byToken.Name == user ? byToken : null;
        var accounts = context.RequestServices.GetRequiredService<AccountService>();
        var account = await accounts.CheckPasswordAsync(user, password, context.RequestAborted);
        if (account is null || await resolver.UserAsync(account.Id, context.RequestServices, context.RequestAborted) is not { } snapshot)
            return null;
        return new Caller(snapshot, snapshot.RoleScopes, null, null, null);
    }

    private static (string User, string Password)? DecodeBasic(string encoded)
    {
        try
        {
            var text = Encoding.Latin1.GetString(Convert.FromBase64String(encoded));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : (text[..colon], text[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public void Dispose() => _sessions.Dispose();
}

/// <summary>
/// The 401 challenge around every user route: no valid cookie or credentials → 401 with WWW-Authenticate and
/// <c>{"error": "Authentication required"}</c> (the client then resends once with credentials); success with
/// credentials → the cookie is set, but only when the handler succeeded.
/// </summary>
public sealed class GatewayAuthFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var auth = context.RequestServices.GetRequiredService<GatewayAuth>();
        var (caller, fromHeader) = await auth.AuthenticateAsync(context);
        if (caller is null)
        {
            context.Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Orrery\"");
            context.Response.Headers.Append("WWW-Authenticate", "jupyterhub");
            return GatewayResults.Error(401, "Authentication required");
        }
        context.Items[typeof(Caller)] = caller;
        object? result;
        try
        {
            result = await next(invocation);
        }
        catch (GatewayApiException e)
        {
            return GatewayResults.Error(e.Status, e.Message);
        }
        if (fromHeader && result is IStatusCodeHttpResult { StatusCode: < 400 })
            auth.IssueCookie(context, caller);
        return result;
    }
}
