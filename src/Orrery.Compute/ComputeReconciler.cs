using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Compute;
using Orrery.Core.Environments;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Compute;

/// <summary>
/// Converges every unfinished resource towards what its row asks for: launches pending ones, watches running
/// ones through their backend handle, stops those asked to stop, records how each one ended. It works from
/// the database alone, so after a restart it simply picks up where the last process left off (re-attach).
/// One pass at a time: it is the single writer of resource state, so concurrent paths cannot leak processes.
/// </summary>
public sealed class ComputeReconciler(IServiceScopeFactory scopes, ComputeBackends backends, TimeProvider time,
    IOptions<ComputeOptions> options, ILogger<ComputeReconciler> logger) : ReconcileLoop(time)
{
    // While something is starting, look again soon, so Running (and its start time) follows the launch closely.
    private static readonly TimeSpan StartingPollInterval = TimeSpan.FromMilliseconds(100);

    private volatile bool _starting;

    /// <summary>
    /// Raised after a pass that changed some resource's state, so the reconcilers of what is built on resources
    /// (servers, clusters, jobs) look at once instead of at their next interval.
    /// </summary>
    public event Action? ResourcesChanged;

    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        await ReconcileOnceAsync(cancellationToken);
        return _starting ? StartingPollInterval : options.Value.ReconcileInterval;
    }

    /// <summary>Backends that report ends (the local one reaps its children) wake the loop at once.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var notifier in backends.All.OfType<IReportsEnds>())
            notifier.ResourceEnded += Wake;
        return base.StartAsync(cancellationToken);
    }

    protected override void PassFailed(Exception exception) => logger.ReconcileFailed(exception);

    public async Task ReconcileOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var open = await db.Resources
            .Where(r => r.State == ResourceState.Pending || r.State == ResourceState.Starting
                        || r.State == ResourceState.Running || r.State == ResourceState.Stopping)
            .ToListAsync(cancellationToken);
        var changed = false;
        var starting = false;
        foreach (var resource in open)
        {
            var before = resource.State;
            await ConvergeAsync(resource, scope.ServiceProvider, cancellationToken);
            await db.SaveChangesAsync(CancellationToken.None);   // what was done to a process is always recorded
            changed |= resource.State != before;
            starting |= resource.State == ResourceState.Starting;
        }
        _starting = starting;
        if (changed)
            ResourcesChanged?.Invoke();
    }

    private async Task ConvergeAsync(ComputeResource resource, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (resource.State == ResourceState.Pending && !resource.StopRequested)
        {
            // Never abandoned half-way: a process started but not recorded (Orrery stopping mid-launch) would run
            // untracked, and be launched again after a restart.
            await LaunchAsync(resource, services, CancellationToken.None);
            return;
        }
        if (BackendOf(resource) is not { } backend)
            return;
        if (resource.State == ResourceState.Pending)
        {
            End(resource, ResourceState.Stopped, null, "Stopped before it started.");
            return;
        }
        var handle = new BackendHandle(resource.Backend, resource.Handle ?? "");
        if (resource.StopRequested || resource.State == ResourceState.Stopping)
        {
            Move(resource, ResourceState.Stopping);
            var ended = await backend.StopAsync(handle, options.Value.StopGrace, cancellationToken);
            End(resource, ended, stopRequested: true);
            return;
        }
        var seen = await backend.ObserveAsync(handle, cancellationToken);
        if (seen.State == BackendState.Running && resource.State == ResourceState.Starting)
        {
            Move(resource, ResourceState.Running);
            resource.Started ??= Now;
        }
        else if (seen.HasEnded)
            End(resource, seen, stopRequested: false);
    }

    /// <summary>The resource's backend, or null when this Orrery has none of that name (the resource then failed saying so).</summary>
    private IComputeBackend? BackendOf(ComputeResource resource)
    {
        var backend = backends.Find(resource.Backend);
        if (backend is null)
            End(resource, ResourceState.Failed, null, $"Compute backend '{resource.Backend}' is not configured.");
        return backend;
    }

    private async Task LaunchAsync(ComputeResource resource, IServiceProvider services, CancellationToken cancellationToken)
    {
        LaunchSpec spec;
        try
        {
            spec = LaunchSpecJson.Read(resource.SpecJson);
        }
        catch (System.Text.Json.JsonException ex)
        {
            End(resource, ResourceState.Failed, null, "Stored launch spec is unreadable: " + ex.Message);
            return;
        }
        // An environment named in the spec becomes what runs it (a virtual environment's PATH, or a container image on
        // the container backend), once, before the launch.
        if (spec.Image is not null && services.GetService<IEnvironments>() is { } environments)
        {
            var realised = await environments.RealiseAsync(spec, resource.Backend, cancellationToken);
            if (realised.Spec is null)
            {
                End(resource, ResourceState.Failed, null, realised.Error);
                return;
            }
            spec = realised.Spec;
            resource.SpecJson = LaunchSpecJson.Write(spec);
            resource.Backend = realised.Backend;
        }
        if (BackendOf(resource) is not { } backend)
            return;
        var result = await backend.LaunchAsync(spec, cancellationToken);
        if (result.Handle is null)
        {
            End(resource, ResourceState.Failed, null, result.Error);
            return;
        }
        Move(resource, ResourceState.Starting);
        resource.Handle = result.Handle.Value;
        logger.Launched(resource.Id, resource.Backend);
        // A local process runs as soon as it is launched; a batch job may not. Look once now either way.
        var seen = await backend.ObserveAsync(result.Handle, cancellationToken);
        if (seen.State == BackendState.Running)
        {
            Move(resource, ResourceState.Running);
            resource.Started ??= Now;
        }
        else if (seen.HasEnded)
            End(resource, seen, stopRequested: false);   // a backend may already know (a refused batch job)
    }

    private void End(ComputeResource resource, BackendObservation seen, bool stopRequested)
    {
        // A stop the owner asked for is a normal end, whatever the exit status the signal caused.
        var state = seen.Succeeded || (stopRequested && seen.State == BackendState.Exited) ? ResourceState.Stopped : ResourceState.Failed;
        var reason = seen.Reason ?? (seen.State == BackendState.Exited && seen.ExitCode != 0 ? $"Exited with status {seen.ExitCode}." : null);
        End(resource, state, seen.ExitCode, reason);
    }

    private void End(ComputeResource resource, ResourceState state, int? exitCode, string? reason)
    {
        Move(resource, state);
        resource.ExitCode = exitCode;
        resource.Reason = reason;
        resource.Ended = Now;
        logger.Ended(resource.Id, state, exitCode, reason);
    }

    private static void Move(ComputeResource resource, ResourceState to)
    {
        if (resource.State != to)
            resource.State = ResourceLifecycle.Move(resource.State, to);
    }

    private DateTime Now => Time.GetUtcNow().UtcDateTime;
}
