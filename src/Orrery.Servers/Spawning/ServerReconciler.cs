using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Lifecycle;
using Orrery.Storage;

namespace Orrery.Servers.Spawning;

/// <summary>
/// The only code acting on personal servers: one pass over every unfinished server, one server at a time, through
/// <see cref="ServerDriver"/>. Requests wake it; while a server is starting it passes every 100 ms so readiness is
/// seen quickly. Everything it needs is in the database, so after an Orrery restart it re-attaches running
/// servers and restores their routes on its first pass.
/// </summary>
public sealed class ServerReconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServersOptions> options,
    ILogger<ServerReconciler> logger, ComputeReconciler compute) : ResourceFollowingLoop(compute, time)
{
    private static readonly TimeSpan StartingPollInterval = TimeSpan.FromMilliseconds(100);

    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken) =>
        await ReconcileAllAsync(cancellationToken) ? StartingPollInterval : options.Value.ReconcileInterval;

    protected override void PassFailed(Exception exception) => logger.ServerPassFailed("(listing)", exception);

    private Task<bool> ReconcileAllAsync(CancellationToken cancellationToken) => ConvergeEachAsync(scopes,
        services => services.GetRequiredService<OrreryDb>().Servers
            .Where(s => s.State != ResourceState.Stopped && s.State != ResourceState.Failed).Select(s => s.Id).ToListAsync(cancellationToken),
        async (services, id) => await services.GetRequiredService<ServerDriver>().ConvergeAsync(id, cancellationToken)
            is ResourceState.Pending or ResourceState.Starting or ResourceState.Stopping,
        (id, e) => logger.ServerPassFailed(id.ToString(System.Globalization.CultureInfo.InvariantCulture), e));
}
