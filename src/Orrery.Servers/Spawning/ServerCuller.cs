using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Auth;
using Orrery.Servers.Profiles;
using Orrery.Storage;

namespace Orrery.Servers.Spawning;

/// <summary>
/// jupyterhub-idle-culler, built in: every <see cref="ServersOptions.CullInterval"/> it stops ready servers idle
/// longer than their profile's <see cref="ServerProfile.IdleTimeout"/> (no proxy traffic and no activity reports)
/// or older than its <see cref="ServerProfile.MaxAge"/>. The reason is logged and kept on the server for its owner.
/// The REST surface the external culler uses works too.
/// </summary>
public sealed class ServerCuller(IServiceScopeFactory scopes, ProfileCatalog profiles, ActivityTracker activity,
    ServerReconciler reconciler, TimeProvider time, IOptions<ServersOptions> options, ILogger<ServerCuller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CullInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CullAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.ServerPassFailed("(culling)", e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One culling pass; returns how many servers it asked to stop.</summary>
    public async Task<int> CullAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var now = time.GetUtcNow().UtcDateTime;
        var running = await db.Servers.AsNoTracking().Where(s => s.State == ResourceState.Running && !s.StopRequested)
            .Select(s => new { s.Id, s.Name, User = s.User!.Name, s.Profile, s.Started, s.Ready, s.LastActivity })
            .ToListAsync(cancellationToken);
        var culled = 0;
        foreach (var server in running)
        {
            if (profiles.Find(server.Profile) is not { } profile)
                continue;
            var lastActive = activity.ServerLastActivity(server.Id, server.LastActivity) ?? server.Ready ?? now;
            string? reason = null;
            if (profile.IdleTimeout is { } idleLimit && idleLimit > TimeSpan.Zero && now - lastActive > idleLimit)
                reason = $"culled: idle for {Round(now - lastActive)} (the profile allows {idleLimit})";
            else if (profile.MaxAge is { } maxAge && maxAge > TimeSpan.Zero && server.Started is { } started && now - started >= maxAge)
                reason = $"culled: running for {Round(now - started)}, the profile's maximum age is {maxAge}";
            if (reason is null)
                continue;
            var asked = await db.Servers.Where(s => s.Id == server.Id && s.State == ResourceState.Running && !s.StopRequested)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.StopRequested, true).SetProperty(x => x.Reason, reason), cancellationToken);
            if (asked == 0)
                continue;
            culled++;
            logger.Culling(server.Name.Length == 0 ? server.User : $"{server.User}:{server.Name}", reason);
        }
        if (culled > 0)
            reconciler.Wake();
        return culled;
    }

    private static TimeSpan Round(TimeSpan span) => TimeSpan.FromSeconds(Math.Round(span.TotalSeconds));
}
