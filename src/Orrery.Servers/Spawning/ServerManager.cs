using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Environments;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Accounts;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Servers.Homes;
using Orrery.Servers.Profiles;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Servers.Spawning;

/// <summary>What a start or stop request came to, in JupyterHub's terms (protocol notes §1.8).</summary>
public enum RequestOutcome
{
    /// <summary>201 (start: up and routed) or 204 (stop: stopped).</summary>
    Done,
    /// <summary>202: still starting or stopping.</summary>
    Pending,
}

/// <summary>
/// Start and stop requests for personal servers. It records what is wanted (a new run, or a stop) and wakes the
/// <see cref="ServerReconciler"/>, which is the only code acting on servers' processes; then it waits a little
/// (JupyterHub's slow-spawn/slow-stop timeouts) so a quick server answers 201/204 rather than 202. Errors are
/// <see cref="HubApiException"/>s with JupyterHub's codes and messages.
/// </summary>
public sealed class ServerManager(
    OrreryDb db, ComputeService compute, AccountService accounts, ProfileCatalog profiles, HomeDirectories homes,
    HubAddress hub, ServerEvents events, ServerReconciler reconciler, UserLocks locks, TimeProvider time,
    IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, IEnvironments environments)
{
    public ServerIdentity Identity(string user, string server) => new(user, server, orrery.Value.BaseUrl);

    public async Task<RequestOutcome> StartAsync(UserSnapshot user, string serverName, JsonElement? userOptions, CancellationToken cancellationToken)
    {
        var identity = Identity(user.Name, serverName);
        if (ServerIdentity.CheckServerName(serverName) is { } badName)
            throw new HubApiException(400, badName);
        if (serverName.Length > 0 && !options.Value.AllowNamedServers)
            throw new HubApiException(400, "Named servers are not enabled.");

        long serverId;
        // Two starts of the same server at once must not both see it stopped and both launch it.
        using (await locks.AcquireAsync(user.Id, cancellationToken))
        {
            var pending = await LaunchAsync(user, serverName, identity, userOptions, cancellationToken);
            if (pending is null)
                return RequestOutcome.Pending;
            serverId = pending.Value;
        }
        reconciler.Wake();
        return await WaitAsync(serverId, ResourceState.Running, options.Value.SlowSpawnTimeout, cancellationToken);
    }

    /// <summary>Checks and launches a new run; returns the server's id, or null when a spawn is already pending.</summary>
    private async Task<long?> LaunchAsync(UserSnapshot user, string serverName, ServerIdentity identity, JsonElement? userOptions,
        CancellationToken cancellationToken)
    {
        var row = await db.Servers.FirstOrDefaultAsync(s => s.UserId == user.Id && s.Name == serverName, cancellationToken);
        switch (row?.State)
        {
            case ResourceState.Pending or ResourceState.Starting:
                return null;
            case ResourceState.Stopping:
                throw new HubApiException(400, $"{identity.LogName} is pending stop");
            case ResourceState.Running:
                throw new HubApiException(400, $"{identity.LogName} is already running");
        }
        if (row is null && serverName.Length > 0 && options.Value.NamedServerLimit > 0)
        {
            var named = await db.Servers.CountAsync(s => s.UserId == user.Id && s.Name != "", cancellationToken);
            if (named >= options.Value.NamedServerLimit)
                throw new HubApiException(400, $"User {user.Name} already has the maximum of {options.Value.NamedServerLimit} named servers.  One must be deleted before a new server can be created");
        }
        var (profile, problem) = profiles.Choose(userOptions, user.Name, user.Groups);
        if (profile is null)
            throw new HubApiException(400, problem!);
        var environment = await ServerEnvironment.ChooseAsync(environments, user.Id, userOptions, profile, cancellationToken);
        var home = homes.Ensure(user.Name);
        if (homes.OverQuota(user.Name) is { } overQuota)
            throw new HubApiException(400, overQuota);

        var now = time.GetUtcNow().UtcDateTime;
        if (row is null)
        {
            row = new UserServer { UserId = user.Id, Name = serverName, Created = now };
            db.Servers.Add(row);
            await db.SaveChangesAsync(cancellationToken);   // the id the server's token belongs to
        }
        var (token, secret) = await accounts.IssueTokenAsync(user.Id, identity.Description, null, Scopes.Workload, "server", cancellationToken);
        token.ServerId = row.Id;

        var port = ServerLaunch.FreeLoopbackPort();
        var resourceId = ComputeService.NewId(ResourceKind.Server);
        var spec = ServerLaunch.Spec(new ServerLaunch.Inputs(resourceId, identity, profile, secret, port, home,
            hub.Internal, hub.Public, "dask-gateway", environment?.Id));
        var backend = profile.Backend.Length > 0 ? profile.Backend : orrery.Value.DefaultBackend;
        row.State = ResourceState.Starting;
        row.StopRequested = false;
        row.ResourceId = resourceId;
        row.Profile = profile.Slug;
        row.EnvironmentId = environment?.Id;
        row.UserOptionsJson = userOptions is { ValueKind: not JsonValueKind.Undefined } o ? o.GetRawText() : null;
        row.Address = $"http://127.0.0.1:{port}";
        row.TokenId = token.Id;
        row.Started = now;
        row.Ready = null;
        row.Ended = null;
        row.LastActivity = now;
        row.Reason = null;
        events.Begin(row.Id, new ProgressEvent(0, "Server requested"));
        // Saves the row and the token's server id with the new resource, in one transaction.
        await compute.RequestAsync(ResourceKind.Server, user.Id, identity.LogName, spec, backend, null, cancellationToken);
        events.Publish(row.Id, new ProgressEvent(50, $"Spawning server ({profile.DisplayName})..."));
        return row.Id;
    }

    public async Task<RequestOutcome> StopAsync(UserSnapshot user, string serverName, bool remove, string stoppedBy, CancellationToken cancellationToken)
    {
        var identity = Identity(user.Name, serverName);
        if (remove && serverName.Length == 0)
            throw new HubApiException(400, "Cannot delete the default server");
        var row = await db.Servers.FirstOrDefaultAsync(s => s.UserId == user.Id && s.Name == serverName, cancellationToken);
        if (row is null)
        {
            if (serverName.Length > 0)
                throw new HubApiException(404, $"{user.Name} has no server named '{serverName}'");
            return RequestOutcome.Done;   // a default server that never ran is stopped
        }
        if (row.State is ResourceState.Pending or ResourceState.Starting && !row.StopRequested)
            throw new HubApiException(400, $"{identity.LogName} is pending spawn, please wait");
        if (row.State is ResourceState.Running)
        {
            row.StopRequested = true;
            row.Reason = $"stopped by {stoppedBy}";
            await db.SaveChangesAsync(cancellationToken);
            reconciler.Wake();
        }
        var outcome = row.State is ResourceState.Stopped or ResourceState.Failed
            ? RequestOutcome.Done
            : await WaitAsync(row.Id, ResourceState.Stopped, options.Value.SlowStopTimeout, cancellationToken);
        if (remove && outcome == RequestOutcome.Done)
        {
            await db.Servers.Where(s => s.Id == row.Id).ExecuteDeleteAsync(cancellationToken);
        }
        return outcome;
    }

    /// <summary>Waits until the server reaches <paramref name="goal"/> (or ends, for a start); Pending on timeout.</summary>
    private async Task<RequestOutcome> WaitAsync(long serverId, ResourceState goal, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            var state = await db.Servers.AsNoTracking().Where(s => s.Id == serverId).Select(s => (ResourceState?)s.State)
                .FirstOrDefaultAsync(cancellationToken);
            if (state is null || state == goal || (goal == ResourceState.Stopped && state == ResourceState.Failed))
                return RequestOutcome.Done;
            if (goal == ResourceState.Running && state is ResourceState.Failed or ResourceState.Stopped)
                throw new HubApiException(500, await FailureMessageAsync(serverId, cancellationToken));
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
                return RequestOutcome.Pending;
            await reconciler.NextPassAsync(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private async Task<string> FailureMessageAsync(long serverId, CancellationToken cancellationToken)
    {
        var reason = await db.Servers.AsNoTracking().Where(s => s.Id == serverId).Select(s => s.Reason).FirstOrDefaultAsync(cancellationToken);
        const string prefix = "Spawn failed: ";
        reason = reason is null ? "unknown reason" : reason.StartsWith(prefix, StringComparison.Ordinal) ? reason[prefix.Length..] : reason;
        return $"Spawner failed to start: {reason}";
    }
}
