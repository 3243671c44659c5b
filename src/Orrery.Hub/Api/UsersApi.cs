using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Accounts;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Api;

/// <summary>JupyterHub's users API: list (with filters and pagination), get, create, patch, delete, activity.</summary>
public static class UsersApi
{
    private const string PaginationMediaType = "application/jupyterhub-pagination+json";
    private const int MaxPage = 200;
    private const int DefaultPage = 50;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/users", List);
        api.MapPost("/users", CreateMany);
        api.MapGet("/users/{name}", Get);
        api.MapPost("/users/{name}", CreateOne);
        api.MapPatch("/users/{name}", Patch);
        api.MapDelete("/users/{name}", Delete);
        api.MapPost("/users/{name}/activity", ActivityApi.Post);
    }

    private static async Task<IResult> List(HttpContext context, OrreryDb db, ActivityTracker activity, IOptions<OrreryOptions> orrery)
    {
        var caller = context.Caller();
        HubAccess.Require(caller, "list:users");
        var query = context.Request.Query;
        var state = query["state"].ToString();
        if (state is not ("" or "active" or "ready" or "inactive"))
            throw new HubApiException(400, $"Unrecognized state filter: {state}");
        var paginated = context.Request.Headers.Accept.ToString().Contains(PaginationMediaType, StringComparison.OrdinalIgnoreCase);
        var offset = QueryInt(query, "offset") ?? 0;
        // At least 1, as JupyterHub does: a page of 0 would hand clients a "next" link that never advances.
        var limit = Math.Clamp(QueryInt(query, "limit") ?? (paginated ? DefaultPage : MaxPage), 1, MaxPage);

        var users = db.Users.AsNoTracking();
        if (!caller.Scopes.HasUnfiltered("list:users"))
        {
            var (names, groups) = caller.Scopes.Filters("list:users");
            users = users.Where(u => names.Contains(u.Name) || u.Groups.Any(g => groups.Contains(g.Name)));
        }
        var nameFilter = query["name_filter"].ToString();
        if (nameFilter.Length > 0)
            users = users.Where(u => u.Name.Contains(nameFilter.ToLowerInvariant()));
        var active = db.Servers.Where(s => s.State == ResourceState.Pending || s.State == ResourceState.Starting
                                           || s.State == ResourceState.Running || s.State == ResourceState.Stopping);
        users = state switch
        {
            "active" => users.Where(u => active.Any(s => s.UserId == u.Id)),
            "ready" => users.Where(u => db.Servers.Any(s => s.UserId == u.Id && s.State == ResourceState.Running)),
            "inactive" => users.Where(u => !active.Any(s => s.UserId == u.Id)),
            _ => users,
        };

        var total = await users.CountAsync(context.RequestAborted);
        var page = await users.OrderBy(u => u.Id).Skip(offset).Take(limit)
            .Select(UserSnapshot.FromUser)
            .ToListAsync(context.RequestAborted);
        var servers = await ServerView.LoadAsync(db, page.Select(u => u.Id).ToList(), context.RequestAborted);
        var includeStopped = IncludeStopped(context);

        return HubResults.Json(w =>
        {
            if (paginated)
            {
                w.WriteStartObject();
                w.WritePropertyName("items");
            }
            w.WriteStartArray();
            foreach (var user in page)
                UserModel.Write(w, caller.Scopes, user, activity.UserLastActivity(user.Id, user.LastActivity),
                    new ServerView(servers[user.Id].ToList(), orrery.Value.BaseUrl, includeStopped, activity));
            w.WriteEndArray();
            if (!paginated)
                return;
            w.WriteStartObject("_pagination");
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", limit);
            w.WriteNumber("total", total);
            if ((long)offset + limit < total)
            {
                w.WriteStartObject("next");
                w.WriteNumber("offset", offset + limit);
                w.WriteNumber("limit", limit);
                w.WriteString("url", NextUrl(context.Request, offset + limit, limit));
                w.WriteEndObject();
            }
            else
                w.WriteNull("next");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Get(string name, HttpContext context, OrreryDb db, ActivityTracker activity, IOptions<OrreryOptions> orrery)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted,
            "read:users", "read:users:name", "read:servers", "read:users:groups", "read:users:activity", "read:roles:users");
        var servers = await ServerViewAsync(context, db, user.Id, activity, orrery.Value);
        return HubResults.Json(w => UserModel.Write(w, caller.Scopes, user, activity.UserLastActivity(user.Id, user.LastActivity), servers));
    }

    /// <summary>One user's servers for the user model; <c>?include_stopped_servers</c> adds the stopped ones.</summary>
    public static async Task<ServerView> ServerViewAsync(HttpContext context, OrreryDb db, long userId, ActivityTracker activity, OrreryOptions orrery)
    {
        var servers = await ServerView.LoadAsync(db, [userId], context.RequestAborted);
        return new ServerView(servers[userId].ToList(), orrery.BaseUrl, IncludeStopped(context), activity);
    }

    private static bool IncludeStopped(HttpContext context) =>
        context.Request.Query.TryGetValue("include_stopped_servers", out var value) && value.ToString() is not ("0" or "false" or "False");

    private static async Task<IResult> CreateMany(HttpContext context, OrreryDb db, AccountService accounts)
    {
        HubAccess.Require(context.Caller(), "admin:users");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        var names = body.Strings("usernames") ?? throw new HubApiException(400, "Must specify at least one user to create");
        var admin = body.Bool("admin") ?? false;
        var invalid = names.Where(n => !Names.IsValid(n)).ToList();
        if (invalid.Count > 0)
            throw new HubApiException(400, $"Invalid usernames: {string.Join(", ", invalid)} ({Names.Rule})");
        var existing = await db.Users.Where(u => names.Contains(u.Name)).Select(u => u.Name).ToListAsync(context.RequestAborted);
        var toCreate = names.Distinct().Except(existing).ToList();
        if (toCreate.Count == 0)
            throw new HubApiException(409, $"All {names.Count} users already exist");
        var created = new List<User>();
        foreach (var name in toCreate)
            created.Add(await accounts.CreateUserAsync(name, admin, password: null, context.RequestAborted));
        var caller = context.Caller();
        return HubResults.Json(201, w =>
        {
            w.WriteStartArray();
            foreach (var user in created)
                UserModel.Write(w, caller.Scopes, Snapshot(user), null, null);
            w.WriteEndArray();
        });
    }

    private static async Task<IResult> CreateOne(string name, HttpContext context, OrreryDb db, AccountService accounts)
    {
        var caller = context.Caller();
        HubAccess.Require(caller, "admin:users");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        if (!Names.IsValid(name))
            throw new HubApiException(400, $"Invalid username: {name} ({Names.Rule})");
        if (await db.Users.AnyAsync(u => u.Name == name, context.RequestAborted))
            throw new HubApiException(409, $"User {name} already exists");
        var user = await accounts.CreateUserAsync(name, body.Bool("admin") ?? false, ValidPassword(body), context.RequestAborted);
        return HubResults.Json(201, w => UserModel.Write(w, caller.Scopes, Snapshot(user), null, null));
    }

    private static async Task<IResult> Patch(string name, HttpContext context, OrreryDb db, AccountService accounts, ActivityTracker activity,
        IOptions<OrreryOptions> orrery)
    {
        var caller = context.Caller();
        HubAccess.Require(caller, "admin:users");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        var user = await db.Users.Include(u => u.Groups).FirstOrDefaultAsync(u => u.Name == name, context.RequestAborted)
                   ?? throw HubApiException.NotFound();
        var unknown = body.PropertyNames().Except(["name", "admin", "groups", "roles", "auth_state", "password"]).ToList();
        if (unknown.Count > 0)
            throw new HubApiException(400, $"Unknown user fields: {string.Join(", ", unknown)}");
        if (body.String("name") is { } newName && newName != user.Name)
        {
            if (!Names.IsValid(newName))
                throw new HubApiException(400, $"Invalid username: {newName} ({Names.Rule})");
            if (await db.Users.AnyAsync(u => u.Name == newName, context.RequestAborted))
                throw new HubApiException(400, $"User {newName} already exists, username must be unique");
            user.Name = newName;
        }
        if (body.Bool("admin") is { } admin)
            user.Admin = admin;
        if (body.Strings("groups") is { } groupNames)
            user.Groups = await GroupsApi.ExistingGroupsAsync(db, groupNames, context.RequestAborted);
        if (ValidPassword(body) is { } password)
            accounts.SetPassword(user, password);
        await accounts.SaveAsync(context.RequestAborted);
        var snapshot = Snapshot(user);
        var servers = await ServerViewAsync(context, db, user.Id, activity, orrery.Value);
        return HubResults.Json(w => UserModel.Write(w, caller.Scopes, snapshot, activity.UserLastActivity(user.Id, user.LastActivity), servers));
    }

    private static async Task<IResult> Delete(string name, HttpContext context, OrreryDb db, AccountService accounts)
    {
        var caller = context.Caller();
        HubAccess.Require(caller, "delete:users");
        if (name == caller.Name)
            throw new HubApiException(400, "Cannot delete yourself!");
        var user = await db.Users.FirstOrDefaultAsync(u => u.Name == name, context.RequestAborted) ?? throw HubApiException.NotFound();
        db.Users.Remove(user);
        await accounts.SaveAsync(context.RequestAborted);
        return HubResults.Empty(204);
    }

    /// <summary>Orrery extension: "password" sets a local account's password (write-only, never shown).</summary>
    private static string? ValidPassword(HubBody body)
    {
        var password = body.String("password");
        if (password is not null && password.Length < 8)
            throw new HubApiException(400, "'password' must be at least 8 characters");
        return password;
    }

    internal static UserSnapshot Snapshot(User user) =>
        new(user.Id, user.Name, user.Admin, user.Groups.Select(g => g.Name).Order(StringComparer.Ordinal).ToList(), user.Created, user.LastActivity);

    private static int? QueryInt(IQueryCollection query, string name)
    {
        var raw = query[name].ToString();
        if (raw.Length == 0)
            return null;
        return int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value : throw new HubApiException(400, $"'{name}' must be a non-negative integer");
    }

    private static string NextUrl(HttpRequest request, int offset, int limit)
    {
        var query = request.Query.Where(q => q.Key is not ("offset" or "limit"))
            .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
            .Append($"offset={offset}").Append($"limit={limit}");
        return $"{request.PathBase}{request.Path}?{string.Join('&', query)}";
    }
}
