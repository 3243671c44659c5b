using System.Text.Json;
using Orrery.Hub.Auth;

namespace Orrery.Hub.Api;

/// <summary>
/// Writes JupyterHub's user model, with exactly the fields the reader's scopes allow for that user
/// (read:users → all but servers, read:users:name → kind/name/admin, read:servers → servers, …).
/// </summary>
public static class UserModel
{
    [Flags]
    private enum Fields
    {
        None = 0,
        Name = 1,
        Admin = 2,
        Roles = 4,
        Groups = 8,
        Summary = 16,
        Activity = 32,
        Servers = 64,
    }

    public static bool CanRead(ScopeSet reader, UserSnapshot user) => Allowed(reader, user) != Fields.None;

    /// <param name="lastActivity">The user's latest activity (database and in-memory combined).</param>
    /// <param name="whoami">When set, the scopes and session id of the calling token are added (GET hub/api/user).</param>
    /// <param name="servers">The user's servers; null when they have none (a user just created).</param>
    public static void Write(Utf8JsonWriter w, ScopeSet reader, UserSnapshot user, DateTime? lastActivity, ServerView? servers, Caller? whoami = null)
    {
        var fields = Allowed(reader, user);
        if (whoami is not null)
            fields |= Fields.Name | Fields.Admin | Fields.Groups; // JupyterHub's identify scopes
        w.WriteStartObject();
        w.WriteString("kind", "user");
        w.WriteString("name", user.Name);
        if (fields.HasFlag(Fields.Admin))
            w.WriteBoolean("admin", user.Admin);
        if (fields.HasFlag(Fields.Roles))
            w.WriteStrings("roles", Scopes.Roles(user.Admin));
        if (fields.HasFlag(Fields.Groups))
            w.WriteStrings("groups", user.Groups);
        if (fields.HasFlag(Fields.Summary))
        {
            w.WriteString("server", servers?.DefaultServerUrl(user.Name));
            w.WriteString("pending", servers?.DefaultPending);
            w.WriteTime("created", user.Created);
        }
        if (fields.HasFlag(Fields.Activity))
            w.WriteTime("last_activity", lastActivity);
        if (fields.HasFlag(Fields.Servers))
        {
            if (servers is null)
            {
                w.WriteStartObject("servers");
                w.WriteEndObject();
            }
            else
                servers.WriteServers(w, user.Name, reader.AllowsUser("admin:server_state", user.Name, user.Groups));
        }
        if (whoami is not null)
        {
            w.WriteString("session_id", whoami.SessionId);
            w.WriteStrings("scopes", whoami.Scopes.Sorted);
        }
        w.WriteEndObject();
    }

    private static Fields Allowed(ScopeSet reader, UserSnapshot user)
    {
        var fields = Fields.None;
        bool Allows(string scope) => reader.AllowsUser(scope, user.Name, user.Groups);
        if (Allows("read:users"))
            fields |= Fields.Name | Fields.Admin | Fields.Roles | Fields.Groups | Fields.Summary | Fields.Activity;
        if (Allows("read:users:name"))
            fields |= Fields.Name | Fields.Admin;
        if (Allows("read:users:groups"))
            fields |= Fields.Name | Fields.Groups;
        if (Allows("read:users:activity"))
            fields |= Fields.Name | Fields.Activity;
        if (Allows("read:servers"))
            fields |= Fields.Name | Fields.Servers;
        if (Allows("read:roles:users"))
            fields |= Fields.Name | Fields.Roles | Fields.Admin;
        return fields;
    }
}
