using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Gateway.Proxy;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Clusters;

/// <summary>One reconcile step for one cluster: start, run (see <see cref="WorkerScaler"/>), or stop it.</summary>
public sealed class ClusterDriver(OrreryDb db, ComputeService compute, ComputeBackends backends, ClusterRoutes routes,
    ClusterMemory memory, WorkerScaler scaler, TimeProvider time, IOptions<GatewayOptions> gateway,
    IOptions<OrreryOptions> orrery, ILogger<ClusterDriver> logger)
{
    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>Returns whether the cluster's visible state changed (so waiters are woken), and its state now.</summary>
    public async Task<(bool Changed, ResourceState State)> ConvergeAsync(string name, CancellationToken cancellationToken)
    {
        var cluster = await db.Clusters.FirstOrDefaultAsync(c => c.Name == name, cancellationToken);
        if (cluster is null || ResourceLifecycle.IsTerminal(cluster.State))
            return (false, cluster?.State ?? ResourceState.Stopped);
        var before = (cluster.State, cluster.StopRequested);
        var resources = await db.Resources.Where(r => r.Parent == name).ToListAsync(cancellationToken);
        var scheduler = resources.FirstOrDefault(r => r.Id == cluster.SchedulerResourceId);

        if (cluster.StopRequested)
            await StopAsync(cluster, resources, cancellationToken);
        else if (cluster.State == ResourceState.Pending)
            await LaunchSchedulerAsync(cluster, cancellationToken);
        else if (scheduler is not null && ResourceLifecycle.IsTerminal(scheduler.State))
            await SchedulerEndedAsync(cluster, scheduler, cancellationToken);
        else if (cluster.State == ResourceState.Starting)
            AwaitSchedulerFile(cluster);
        else if (cluster.State == ResourceState.Running)
        {
            PublishRoutes(cluster);
            await scaler.ConvergeAsync(cluster, resources.Where(r => r.Kind == ResourceKind.Worker).ToList(), cancellationToken);
        }
        await db.SaveChangesAsync(cancellationToken);
        return (before != (cluster.State, cluster.StopRequested), cluster.State);
    }

    private async Task LaunchSchedulerAsync(DaskCluster cluster, CancellationToken cancellationToken)
    {
        PrepareWorkDir(cluster);
        var id = "scheduler-" + cluster.Name;
        var settings = Settings(cluster);
        var backend = settings.SchedulerBackendOr(gateway.Value, orrery.Value.DefaultBackend);
        var spec = DaskLaunchSpecs.Scheduler(id, gateway.Value.DaskCommand, cluster.WorkDir, settings, settings.Placement(gateway.Value),
            ContainerImages.For(cluster.EnvironmentId, settings.Image, backend));
        await compute.RequestAsync(ResourceKind.Scheduler, cluster.OwnerId, "scheduler", spec, backend, cluster.Name, cancellationToken);
        cluster.SchedulerResourceId = id;
        cluster.State = ResourceLifecycle.Move(cluster.State, ResourceState.Starting);
    }

    /// <summary>The scheduler writes its file once it listens; that gives its address and dashboard port.</summary>
    private void AwaitSchedulerFile(DaskCluster cluster)
    {
        var file = DaskLaunchSpecs.SchedulerFile(cluster.WorkDir);
        if (File.Exists(file) && TryReadSchedulerFile(file) is { } addresses)
        {
            cluster.SchedulerAddress = addresses.Scheduler;
            cluster.DashboardAddress = addresses.Dashboard;
            // Routes first: the client connects through the proxy as soon as it sees RUNNING.
            PublishRoutes(cluster);
            cluster.State = ResourceLifecycle.Move(cluster.State, ResourceState.Running);
            cluster.Started = Now;
            logger.ClusterRunning(cluster.Name, addresses.Scheduler);
        }
        else if (Now - cluster.Created > gateway.Value.ClusterStartTimeout)
            Fail(cluster, $"The scheduler did not start within {gateway.Value.ClusterStartTimeout.TotalSeconds:0} s.");
    }

    private async Task SchedulerEndedAsync(DaskCluster cluster, ComputeResource scheduler, CancellationToken cancellationToken)
    {
        if (scheduler.ExitCode == 0 && cluster.State == ResourceState.Running)
        {
            // distributed's idle timeout ends the scheduler with status 0.
            cluster.StopRequested = true;
            cluster.Reason = "Stopped after being idle.";
        }
        else
            Fail(cluster, $"The scheduler exited ({scheduler.Reason ?? "status " + scheduler.ExitCode}). Last log lines:\n{await ComputeLogs.LastLinesAsync(backends, scheduler, cancellationToken)}");
        logger.SchedulerEnded(cluster.Name, scheduler.ExitCode, scheduler.Reason);
    }

    /// <summary>Workers first, then the scheduler, then routes and files; each step waits for the previous one.</summary>
    private async Task StopAsync(DaskCluster cluster, List<ComputeResource> resources, CancellationToken cancellationToken)
    {
        if (cluster.State is ResourceState.Starting or ResourceState.Running)
            cluster.State = ResourceLifecycle.Move(cluster.State, ResourceState.Stopping);
        routes.Remove(cluster.Name);
        var live = resources.Where(r => !ResourceLifecycle.IsTerminal(r.State)).ToList();
        var workers = live.Where(r => r.Kind == ResourceKind.Worker).ToList();
        foreach (var worker in workers.Where(w => !w.StopRequested))
            await compute.RequestStopAsync(worker.Id, cancellationToken);
        if (workers.Count > 0)
            return;
        foreach (var scheduler in live.Where(r => r.Kind == ResourceKind.Scheduler && !r.StopRequested))
            await compute.RequestStopAsync(scheduler.Id, cancellationToken);
        if (live.Count > 0)
            return;
        if (Directory.Exists(cluster.WorkDir))
            Directory.Delete(cluster.WorkDir, recursive: true);
        cluster.State = ResourceLifecycle.Move(cluster.State, cluster.EndAsFailed ? ResourceState.Failed : ResourceState.Stopped);
        cluster.Ended = Now;
        memory.Forget(cluster.Name);
        logger.ClusterEnded(cluster.Name, cluster.State, cluster.Reason);
    }

    public static void Fail(DaskCluster cluster, string reason)
    {
        cluster.StopRequested = true;
        cluster.EndAsFailed = true;
        cluster.Reason = reason;
    }

    private void PublishRoutes(DaskCluster cluster)
    {
        if (cluster.SchedulerAddress is null || !Uri.TryCreate(cluster.SchedulerAddress.Replace("tls://", "tcp://", StringComparison.Ordinal), UriKind.Absolute, out var scheduler))
            return;
        var endpoint = new IPEndPoint(IPAddress.Parse(scheduler.Host), scheduler.Port);
        routes.Set(cluster.Name, endpoint, cluster.DashboardAddress is null ? null : new Uri(cluster.DashboardAddress));
    }

    private void PrepareWorkDir(DaskCluster cluster)
    {
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(cluster.WorkDir, Private);
        Directory.CreateDirectory(Path.Combine(cluster.WorkDir, ".certs"), Private);
        WritePrivate(DaskLaunchSpecs.CertificatePath(cluster.WorkDir), cluster.CertificatePem);
        WritePrivate(DaskLaunchSpecs.KeyPath(cluster.WorkDir), cluster.KeyPem);
    }

    private static void WritePrivate(string path, string content)
    {
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(file);
        writer.Write(content);
    }

    private static (string Scheduler, string? Dashboard)? TryReadSchedulerFile(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var address = document.RootElement.GetProperty("address").GetString();
            int? dashboard = document.RootElement.TryGetProperty("services", out var services) && services.TryGetProperty("dashboard", out var port)
                ? port.GetInt32() : null;
            return address is null ? null : (address, dashboard is { } p ? $"http://127.0.0.1:{p}/" : null);
        }
        catch (Exception ex) when (ex is JsonException or IOException or KeyNotFoundException or InvalidOperationException)
        {
            return null; // still being written
        }
    }

    public static ClusterSettings Settings(DaskCluster cluster) =>
        ClusterSettings.From(System.Text.Json.Nodes.JsonNode.Parse(cluster.OptionsJson)!.AsObject());
}
