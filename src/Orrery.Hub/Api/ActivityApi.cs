using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Orrery.Hub.Auth;
using Orrery.Storage;

namespace Orrery.Hub.Api;

/// <summary>
/// <c>POST users/&lt;name&gt;/activity</c>: what jupyterhub-singleuser reports every 5 minutes. Validated as
/// JupyterHub 3.0 does; activity only moves forward.
/// </summary>
public static class ActivityApi
{
    public static async Task<IResult> Post(string name, HttpContext context, OrreryDb db, ActivityTracker activity, TimeProvider time)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "users:activity");
        var body = (await HubBody.ReadAsync(context.Request)).RequireObject();
        if (!body.Has("last_activity") && !body.Has("servers"))
            throw new HubApiException(400, "body must contain at least one of `last_activity` or `servers`");
        var now = time.GetUtcNow().UtcDateTime;
        var latest = ParseTime(body, "last_activity", now);
        var reports = new List<(long ServerId, DateTime When)>();
        foreach (var (server, report) in body.Object("servers").Properties())
        {
            var serverId = await db.Servers.Where(s => s.UserId == user.Id && s.Name == server).Select(s => (long?)s.Id)
                .FirstOrDefaultAsync(context.RequestAborted) ?? throw new HubApiException(400, $"No such server '{server}' for user {user.Name}");
            if (!report.Has("last_activity"))
                throw new HubApiException(400, $"server {server} must be an object containing last_activity");
            reports.Add((serverId, ParseTime(report, "last_activity", now)!.Value));
        }
        foreach (var (serverId, when) in reports)
        {
            activity.TouchServer(serverId, when);
            latest = latest is { } l && l > when ? l : when;
        }
        if (latest is { } newest)
            activity.Report(user.Id, newest);
        return HubResults.Empty(200);
    }

    private static DateTime? ParseTime(HubBody body, string field, DateTime now)
    {
        var raw = body.String(field);
        if (raw is null)
            return null;
        if (!DateTime.TryParse(raw, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var when))
            throw new HubApiException(400, $"'{field}' must be an ISO 8601 timestamp, got {raw}");
        if (when > now.AddMinutes(59))
            throw new HubApiException(400, $"Rejecting activity from more than an hour in the future: {HubResults.FormatTime(when)}");
        return when;
    }
}
