using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Hub.Api;
using Orrery.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Core.Ownership;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Servers.Spawning;

/// <summary>
/// Moves one server a step towards what its row asks for. Starting: once its process runs, probe its URL until any
/// answer below 500 (JupyterHub's readiness rule), then publish the route and mark it ready; fail it when the
/// process ends first or the start timeout passes. Running: keep the route (also after an Orrery restart), notice a
/// process that died, begin a stop when asked. Stopping: once the process is gone, revoke the run's tokens and stop
/// what its token created.
/// </summary>
public sealed class ServerDriver(
    OrreryDb db, ComputeService compute, ComputeBackends backends, ServerRoutes routes, ServerEvents events,
    ServerProbe probe, HubCache hubCache, IEnumerable<IServerDependents> dependents, TimeProvider time,
    IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, ILogger<ServerDriver> logger)
{
    /// <summary>Returns the server's state after this step.</summary>
    public async Task<ResourceState> ConvergeAsync(long serverId, CancellationToken cancellationToken)
    {
        var server = await db.Servers.Include(s => s.User).FirstOrDefaultAsync(s => s.Id == serverId, cancellationToken);
        if (server is null)
            return ResourceState.Stopped;
        var resource = server.ResourceId is null ? null
            : await db.Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == server.ResourceId, cancellationToken);
        var identity = new ServerIdentity(server.User!.Name, server.Name, orrery.Value.BaseUrl);
        switch (server.State)
        {
            case ResourceState.Pending or ResourceState.Starting:
                await StartingAsync(server, resource, identity, cancellationToken);
                break;
            case ResourceState.Running:
                await RunningAsync(server, resource, identity, cancellationToken);
                break;
            case ResourceState.Stopping:
                await StoppingAsync(server, resource, identity, cancellationToken);
                break;
        }
        await db.SaveChangesAsync(cancellationToken);
        return server.State;
    }

    private async Task StartingAsync(UserServer server, ComputeResource? resource, ServerIdentity identity, CancellationToken cancellationToken)
    {
        if (server.StopRequested)
        {
            await BeginStopAsync(server, identity, failed: false, cancellationToken);
            return;
        }
        if (resource is null || resource.State is ResourceState.Stopped or ResourceState.Failed)
        {
            var why = resource is null ? "its process record is gone"
                : $"it exited before answering ({resource.Reason ?? "status " + resource.ExitCode}). Last log lines:\n"
                  + await ComputeLogs.LastLinesAsync(backends, resource, cancellationToken);
            server.Reason = "Spawn failed: " + why;
            await FinishAsync(server, identity, ResourceState.Failed, cancellationToken);
            return;
        }
        var now = time.GetUtcNow().UtcDateTime;
        if (resource.State == ResourceState.Running && await probe.AnswersAsync(new Uri(server.Address + identity.Prefix), cancellationToken))
        {
            server.State = ResourceState.Running;
            server.Ready = now;
            server.LastActivity = now;
            routes.Publish(Route(server, identity));
            events.Publish(server.Id, new ProgressEvent(100, $"Server ready at {identity.Prefix}", Ready: true, Url: identity.Prefix));
            logger.ServerReady(identity.LogName, now - (server.Started ?? now));
            return;
        }
        if (now - (server.Started ?? now) > options.Value.StartTimeout)
        {
            server.Reason = $"Spawn failed: the server did not answer at {identity.Prefix} within {options.Value.StartTimeout}";
            await BeginStopAsync(server, identity, failed: true, cancellationToken);
        }
    }

    private async Task RunningAsync(UserServer server, ComputeResource? resource, ServerIdentity identity, CancellationToken cancellationToken)
    {
        if (server.StopRequested)
        {
            await BeginStopAsync(server, identity, failed: false, cancellationToken);
            return;
        }
        if (resource is null || resource.State is not ResourceState.Running)
        {
            if (resource is { State: ResourceState.Stopping })
                return;   // the compute reconciler is already ending it; wait for the outcome
            var why = resource is null ? "its process record is gone"
                : $"{resource.Reason ?? "exited with status " + resource.ExitCode}. Last log lines:\n"
                  + await ComputeLogs.LastLinesAsync(backends, resource, cancellationToken);
            server.Reason = "The server stopped by itself: " + why;
            routes.Remove(identity.User, identity.Server);
            await FinishAsync(server, identity, ResourceState.Failed, cancellationToken);
            return;
        }
        if (!routes.TryGet(identity.User, identity.Server, out _))
            routes.Publish(Route(server, identity));   // after an Orrery restart
    }

    private async Task StoppingAsync(UserServer server, ComputeResource? resource, ServerIdentity identity, CancellationToken cancellationToken)
    {
        if (resource is not null && resource.State is not (ResourceState.Stopped or ResourceState.Failed))
        {
            if (!resource.StopRequested)
                await compute.RequestStopAsync(resource.Id, cancellationToken);
            return;
        }
        await FinishAsync(server, identity, server.EndAsFailed ? ResourceState.Failed : ResourceState.Stopped, cancellationToken);
    }

    private async Task BeginStopAsync(UserServer server, ServerIdentity identity, bool failed, CancellationToken cancellationToken)
    {
        routes.Remove(identity.User, identity.Server);
        server.State = ResourceState.Stopping;
        server.StopRequested = true;
        server.EndAsFailed = failed;
        if (server.ResourceId is not null)
            await compute.RequestStopAsync(server.ResourceId, cancellationToken);
        logger.ServerStopping(identity.LogName, server.Reason ?? "asked to stop");
    }

    /// <summary>The run is over: its tokens (own and OAuth) go, and so does what its token created.</summary>
    private async Task FinishAsync(UserServer server, ServerIdentity identity, ResourceState final, CancellationToken cancellationToken)
    {
        routes.Remove(identity.User, identity.Server);
        server.State = final;
        server.StopRequested = false;
        server.EndAsFailed = false;
        server.Ended = time.GetUtcNow().UtcDateTime;
        server.TokenId = null;
        await db.Tokens.Where(t => t.ServerId == server.Id).ExecuteDeleteAsync(cancellationToken);
        hubCache.Invalidate();
        var reason = $"its server {identity.LogName} stopped";
        foreach (var dependent in dependents)
            await dependent.StopForServerAsync(server.Id, reason, cancellationToken);
        var final_event = final == ResourceState.Failed
            ? new ProgressEvent(100, server.Reason ?? "Spawn failed", Failed: true)
            : new ProgressEvent(100, $"Server {identity.LogName} stopped", Failed: true);
        events.Publish(server.Id, final_event);
        if (final == ResourceState.Failed)
            logger.ServerFailed(identity.LogName, server.Reason ?? "");
        else
            logger.ServerStopped(identity.LogName, server.Reason ?? "");
    }

    private static ServerRoute Route(UserServer server, ServerIdentity identity) =>
        new(server.Id, server.UserId, identity.User, identity.Server, new Uri(server.Address!));
}
