using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Hub.Api;

/// <summary>Version, info, health, whoami and the deprecated token lookup of the JupyterHub REST API.</summary>
public static class HubApi
{
    public static void Map(RouteGroupBuilder anonymous, RouteGroupBuilder api)
    {
        // Routing treats a trailing slash as optional, so this also answers hub/api/.
        anonymous.MapGet("", Version);
        anonymous.MapGet("/health", () => Results.Ok());
        api.MapGet("/info", Info);
        api.MapGet("/user", WhoAmI);
        api.MapGet("/authorizations/token/{token}", LookupToken);
        // Removed in JupyterHub 2.0; answer as it does. Unknown paths and methods are 404 with or without a
        // token, as in JupyterHub, not 403.
        anonymous.MapPost("/authorizations/token", () => HubResults.Error(404, "Not Found"));
        anonymous.MapFallback(() => HubResults.Error(404, "Not Found"));
    }

    private static IResult Version(IOptions<HubOptions> options) => HubResults.Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("version", options.Value.CompatibleVersion);
        w.WriteEndObject();
    });

    private static IResult Info(HttpContext context, IOptions<HubOptions> options)
    {
        HubAccess.Require(context.Caller(), "read:hub");
        return HubResults.Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("version", options.Value.CompatibleVersion);
            w.WriteString("python", "Orrery (.NET " + Environment.Version + ")");
            w.WriteString("sys_executable", Environment.ProcessPath);
            WriteComponent(w, "spawner", "orrery.ComputeBackend");
            WriteComponent(w, "authenticator", "orrery.LocalAccounts");
            w.WriteEndObject();
        });
    }

    private static void WriteComponent(Utf8JsonWriter w, string name, string className)
    {
        w.WriteStartObject(name);
        w.WriteString("class", className);
        w.WriteString("version", typeof(HubApi).Assembly.GetName().Version?.ToString());
        w.WriteEndObject();
    }

    private static async Task<IResult> WhoAmI(HttpContext context, ActivityTracker activity, OrreryDb db, IOptions<OrreryOptions> orrery)
    {
        var caller = context.Caller();
        var lastActivity = activity.UserLastActivity(caller.User.Id, caller.User.LastActivity);
        // Servers only when the token may read them: singleuser checks a model per request and needs none.
        var servers = caller.Scopes.AllowsUser("read:servers", caller.Name, caller.User.Groups)
            ? await UsersApi.ServerViewAsync(context, db, caller.User.Id, activity, orrery.Value) : null;
        return HubResults.Json(w => UserModel.Write(w, caller.Scopes, caller.User, lastActivity, servers, whoami: caller));
    }

    /// <summary>
    /// dask-gateway-server ≤ 2024.1.0 validates a user's token by asking with its own: the owner's model, readable
    /// through the caller's scopes plus the owner's identify scopes, without a "scopes" key; 404 when unknown.
    /// </summary>
    private static async Task<IResult> LookupToken(string token, HttpContext context, CallerResolver resolver, ActivityTracker activity, ILogger<CallerResolver> logger)
    {
        var caller = context.Caller();
        logger.DeprecatedTokenLookup(caller.Name);
        var owner = await resolver.FromTokenAsync(token, context.RequestServices, context.RequestAborted);
        if (owner is null)
            return HubResults.Error(404, "Not Found");
        var user = owner.User;
        var reader = new ScopeSet(caller.Scopes.Sorted.Concat(Scopes.Expand(["read:users:name!user", "read:users:groups!user"], user.Name)));
        var lastActivity = activity.UserLastActivity(user.Id, user.LastActivity);
        return HubResults.Json(w => UserModel.Write(w, reader, user, lastActivity, null));
    }
}
