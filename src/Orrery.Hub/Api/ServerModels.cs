using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Hub.Api;

/// <summary>
/// A user's servers as the user model shows them (protocol notes §1.6): <c>server</c> and <c>pending</c> of the
/// default server, and <c>servers</c> with the active ones (starting, ready or stopping) or, when asked, all.
/// </summary>
public sealed record ServerView(IReadOnlyList<UserServer> Rows, string BaseUrl, bool IncludeStopped, ActivityTracker Activity)
{
    public static async Task<ILookup<long, UserServer>> LoadAsync(OrreryDb db, IReadOnlyCollection<long> userIds, CancellationToken cancellationToken) =>
        (await db.Servers.AsNoTracking().Where(s => userIds.Contains(s.UserId)).OrderBy(s => s.Name).ToListAsync(cancellationToken))
        .ToLookup(s => s.UserId);

    public static bool IsActive(UserServer server) =>
        server.State is ResourceState.Pending or ResourceState.Starting or ResourceState.Running or ResourceState.Stopping;

    public static string? Pending(UserServer server) => server.State switch
    {
        ResourceState.Pending or ResourceState.Starting => server.StopRequested ? "stop" : "spawn",
        ResourceState.Stopping => "stop",
        ResourceState.Running when server.StopRequested => "stop",
        _ => null,
    };

    private UserServer? Default => Rows.FirstOrDefault(s => s.Name.Length == 0);

    /// <summary>URL of the default server while it is ready, else null.</summary>
    public string? DefaultServerUrl(string user) =>
        Default is { State: ResourceState.Running } ? new ServerIdentity(user, "", BaseUrl).Prefix : null;

    public string? DefaultPending => Default is { } d ? Pending(d) : null;

    public void WriteServers(Utf8JsonWriter w, string user, bool withState)
    {
        w.WriteStartObject("servers");
        foreach (var server in Rows.Where(s => IncludeStopped || IsActive(s)))
        {
            var identity = new ServerIdentity(user, server.Name, BaseUrl);
            w.WriteStartObject(server.Name);
            w.WriteString("name", server.Name);
            w.WriteTime("last_activity", Activity.ServerLastActivity(server.Id, server.LastActivity));
            w.WriteTime("started", IsActive(server) ? server.Started : null);
            w.WriteString("pending", Pending(server));
            w.WriteBoolean("ready", server.State == ResourceState.Running);
            w.WriteBoolean("stopped", !IsActive(server));
            w.WriteString("url", identity.Prefix);
            w.WritePropertyName("user_options");
            w.WriteRawValue(server.UserOptionsJson ?? "{}");
            w.WriteString("progress_url", identity.ProgressUrl);
            if (withState)
            {
                w.WriteStartObject("state");
                if (server.ResourceId is { } resource)
                    w.WriteString("resource", resource);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
