using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Storage;

namespace Orrery.Hub.Auth;

/// <summary>
/// Records last activity of users and tokens in memory on every authenticated request and writes it to the
/// database once per <see cref="HubOptions.ActivityResolution"/>, so the hot path never writes.
/// </summary>
public sealed class ActivityTracker(TimeProvider time)
{
    private readonly ConcurrentDictionary<long, DateTime> _users = new();
    private readonly ConcurrentDictionary<long, DateTime> _tokens = new();
    private readonly ConcurrentDictionary<long, DateTime> _dirtyUsers = new();
    private readonly ConcurrentDictionary<long, DateTime> _dirtyTokens = new();
    private readonly ConcurrentDictionary<long, DateTime> _servers = new();
    private readonly ConcurrentDictionary<long, DateTime> _dirtyServers = new();

    public void Touch(long userId, long? tokenId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        Record(_users, _dirtyUsers, userId, now);
        if (tokenId is { } id)
            Record(_tokens, _dirtyTokens, id, now);
    }

    /// <summary>Moves a user's activity forward to <paramref name="when"/> (activity reported by a server).</summary>
    public void Report(long userId, DateTime when) => Record(_users, _dirtyUsers, userId, when);

    /// <summary>
    /// Moves a personal server's activity forward: traffic through the proxy (<paramref name="when"/> null = now) or
    /// an activity report from the server itself. Culling reads it.
    /// </summary>
    public void TouchServer(long serverId, DateTime? when = null) =>
        Record(_servers, _dirtyServers, serverId, when ?? time.GetUtcNow().UtcDateTime);

    public DateTime? ServerLastActivity(long serverId, DateTime? stored) => Latest(_servers, serverId, stored);

    public DateTime? UserLastActivity(long userId, DateTime? stored) => Latest(_users, userId, stored);

    public DateTime? TokenLastActivity(long tokenId, DateTime? stored) => Latest(_tokens, tokenId, stored);

    public async Task FlushAsync(OrreryDb db, CancellationToken cancellationToken)
    {
        foreach (var (id, when) in Drain(_dirtyUsers))
            await db.Users.Where(u => u.Id == id && (u.LastActivity == null || u.LastActivity < when))
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.LastActivity, when), cancellationToken);
        foreach (var (id, when) in Drain(_dirtyTokens))
            await db.Tokens.Where(t => t.Id == id && (t.LastActivity == null || t.LastActivity < when))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastActivity, when), cancellationToken);
        foreach (var (id, when) in Drain(_dirtyServers))
            await db.Servers.Where(s => s.Id == id && (s.LastActivity == null || s.LastActivity < when))
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.LastActivity, when), cancellationToken);
    }

    private static void Record(ConcurrentDictionary<long, DateTime> latest, ConcurrentDictionary<long, DateTime> dirty, long id, DateTime when)
    {
        var value = latest.AddOrUpdate(id, when, (_, old) => old > when ? old : when);
        dirty[id] = value;
    }

    private static DateTime? Latest(ConcurrentDictionary<long, DateTime> latest, long id, DateTime? stored) =>
        latest.TryGetValue(id, out var seen) && (stored is null || seen > stored) ? seen : stored;

    private static List<KeyValuePair<long, DateTime>> Drain(ConcurrentDictionary<long, DateTime> dirty)
    {
        var items = dirty.ToList();
        foreach (var item in items)
            dirty.TryRemove(item);
        return items;
    }
}

/// <summary>Writes recorded activity periodically and once more on shutdown.</summary>
public sealed class ActivityFlusher(ActivityTracker tracker, IServiceScopeFactory scopes, TimeProvider time,
    IOptions<HubOptions> options, ILogger<ActivityFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ActivityResolution, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await FlushAsync(CancellationToken.None);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await tracker.FlushAsync(scope.ServiceProvider.GetRequiredService<OrreryDb>(), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.ActivityFlushFailed(ex);
        }
    }
}
