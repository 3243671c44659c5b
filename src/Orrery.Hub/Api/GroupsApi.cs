using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Orrery.Hub.Accounts;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Api;

/// <summary>JupyterHub's groups API: list, create (one or many), get, delete, add and remove members.</summary>
public static class GroupsApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/groups", List);
        api.MapPost("/groups", CreateMany);
        api.MapGet("/groups/{name}", Get);
        api.MapPost("/groups/{name}", CreateOne);
        api.MapDelete("/groups/{name}", Delete);
        api.MapPost("/groups/{name}/users", AddMembers);
        api.MapDelete("/groups/{name}/users", RemoveMembers);
    }

    private static async Task<IResult> List(HttpContext context, OrreryDb db)
    {
        var caller = context.Caller();
        HubAccess.Require(caller, "list:groups");
        var groups = await db.Groups.AsNoTracking().Include(g => g.Users).OrderBy(g => g.Id).ToListAsync(context.RequestAborted);
        var visible = groups.Where(g => caller.Scopes.AllowsGroup("list:groups", g.Name)).ToList();
        return HubResults.Json(w =>
        {
            w.WriteStartArray();
            foreach (var group in visible)
                Write(w, group);
            w.WriteEndArray();
        });
    }

    private static async Task<IResult> Get(string name, HttpContext context, OrreryDb db)
    {
        HubAccess.RequireGroup(context.Caller(), "read:groups", name);
        var group = await FindAsync(db, name, context.RequestAborted);
        return HubResults.Json(w => Write(w, group));
    }

    private static async Task<IResult> CreateMany(HttpContext context, OrreryDb db, AccountService accounts)
    {
        HubAccess.Require(context.Caller(), "admin:groups");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        var names = body.Strings("groups") ?? throw new HubApiException(400, "Must specify at least one group to create");
        CheckNames(names);
        var existing = await db.Groups.Where(g => names.Contains(g.Name)).Select(g => g.Name).ToListAsync(context.RequestAborted);
        var created = names.Distinct().Except(existing).Select(n => new Group { Name = n }).ToList();
        if (created.Count == 0)
            throw new HubApiException(409, $"All {names.Count} groups already exist");
        db.Groups.AddRange(created);
        await accounts.SaveAsync(context.RequestAborted);
        return HubResults.Json(201, w =>
        {
            w.WriteStartArray();
            foreach (var group in created)
                Write(w, group);
            w.WriteEndArray();
        });
    }

    private static async Task<IResult> CreateOne(string name, HttpContext context, OrreryDb db, AccountService accounts)
    {
        HubAccess.Require(context.Caller(), "admin:groups");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        CheckNames([name]);
        if (await db.Groups.AnyAsync(g => g.Name == name, context.RequestAborted))
            throw new HubApiException(409, $"Group {name} already exists");
        var group = new Group { Name = name, Users = await ExistingUsersAsync(db, body.Strings("users") ?? [], context.RequestAborted) };
        db.Groups.Add(group);
        await accounts.SaveAsync(context.RequestAborted);
        return HubResults.Json(201, w => Write(w, group));
    }

    private static async Task<IResult> Delete(string name, HttpContext context, OrreryDb db, AccountService accounts)
    {
        HubAccess.RequireGroup(context.Caller(), "delete:groups", name);
        db.Groups.Remove(await FindAsync(db, name, context.RequestAborted));
        await accounts.SaveAsync(context.RequestAborted);
        return HubResults.Empty(204);
    }

    private static Task<IResult> AddMembers(string name, HttpContext context, OrreryDb db, AccountService accounts) =>
        ChangeMembers(name, context, db, accounts, (group, users) => group.Users.AddRange(users.Except(group.Users)));

    private static Task<IResult> RemoveMembers(string name, HttpContext context, OrreryDb db, AccountService accounts) =>
        ChangeMembers(name, context, db, accounts, (group, users) => group.Users.RemoveAll(users.Contains));

    private static async Task<IResult> ChangeMembers(string name, HttpContext context, OrreryDb db, AccountService accounts, Action<Group, List<User>> change)
    {
        HubAccess.RequireGroup(context.Caller(), "groups", name);
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        var names = body.Strings("users") ?? throw new HubApiException(400, "Must specify users as a list of names");
        var group = await FindAsync(db, name, context.RequestAborted);
        change(group, await ExistingUsersAsync(db, names, context.RequestAborted));
        await accounts.SaveAsync(context.RequestAborted);
        return HubResults.Json(w => Write(w, group));
    }

    internal static async Task<List<Group>> ExistingGroupsAsync(OrreryDb db, List<string> names, CancellationToken cancellationToken)
    {
        var groups = await db.Groups.Where(g => names.Contains(g.Name)).ToListAsync(cancellationToken);
        var missing = names.Except(groups.Select(g => g.Name)).ToList();
        return missing.Count == 0 ? groups : throw new HubApiException(400, $"No such groups: {string.Join(", ", missing)}");
    }

    private static async Task<List<User>> ExistingUsersAsync(OrreryDb db, List<string> names, CancellationToken cancellationToken)
    {
        var users = await db.Users.Where(u => names.Contains(u.Name)).ToListAsync(cancellationToken);
        var missing = names.Except(users.Select(u => u.Name)).ToList();
        return missing.Count == 0 ? users : throw new HubApiException(400, $"No such users: {string.Join(", ", missing)}");
    }

    private static async Task<Group> FindAsync(OrreryDb db, string name, CancellationToken cancellationToken) =>
        await db.Groups.Include(g => g.Users).FirstOrDefaultAsync(g => g.Name == name, cancellationToken)
        ?? throw new HubApiException(404, $"No such group: {name}");

    private static void CheckNames(IEnumerable<string> names)
    {
        var invalid = names.Where(n => !Names.IsValid(n)).ToList();
        if (invalid.Count > 0)
            throw new HubApiException(400, $"Invalid group names: {string.Join(", ", invalid)} ({Names.Rule})");
    }

    private static void Write(Utf8JsonWriter w, Group group)
    {
        w.WriteStartObject();
        w.WriteString("kind", "group");
        w.WriteString("name", group.Name);
        w.WriteStrings("users", group.Users.Select(u => u.Name).Order(StringComparer.Ordinal));
        w.WriteStrings("roles", []);
        w.WriteStartObject("properties");
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
