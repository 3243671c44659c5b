using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Building;

/// <summary>
/// Follows builds to their end: a build that exited 0 and wrote its manifest makes every environment of that
/// content Ready with its packages and versions; any other end makes them Failed with the step that failed and its
/// output. Builds are compute resources, so one that ran while Orrery was down is judged after the restart.
/// </summary>
public sealed class BuildReconciler(IServiceScopeFactory scopes, ComputeReconciler compute, EnvironmentFiles files,
    IOptions<EnvironmentsOptions> options, TimeProvider time, ILogger<BuildReconciler> logger) : ResourceFollowingLoop(compute, time)
{
    protected override void PassFailed(Exception exception) => logger.PassFailed(exception);

    protected override async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var building = await db.Environments.Where(e => e.State == EnvironmentState.Building).ToListAsync(cancellationToken);
        foreach (var build in building.GroupBy(e => e.BuildResourceId))
        {
            var resource = build.Key is null ? null : await db.Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == build.Key, cancellationToken);
            if (resource is not null && !ResourceLifecycle.IsTerminal(resource.State))
                continue;
            var contentId = build.First().ContentId;
            var outcome = resource is null ? Outcome.Failed("start", "The build's record is gone.")
                : await JudgeAsync(scope.ServiceProvider.GetRequiredService<ComputeBackends>(), resource, contentId, cancellationToken);
            foreach (var environment in build)
                outcome.ApplyTo(environment, Time.GetUtcNow().UtcDateTime);
            if (outcome.Step is null)
                logger.Built(contentId);
            else
                logger.BuildFailed(contentId, outcome.Step);
        }
        await db.SaveChangesAsync(cancellationToken);
        return options.Value.ReconcileInterval;
    }

    private async Task<Outcome> JudgeAsync(ComputeBackends backends, ComputeResource resource, string contentId, CancellationToken cancellationToken)
    {
        var manifest = files.Manifest(contentId);
        if (resource.State == ResourceState.Stopped && resource.ExitCode == 0 && File.Exists(manifest))
        {
            try
            {
                using var document = JsonDocument.Parse(await File.ReadAllTextAsync(manifest, cancellationToken));
                return new Outcome(EnvironmentState.Ready, null, null,
                    document.RootElement.GetProperty("packages").GetRawText(), document.RootElement.GetProperty("versions").GetRawText());
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return Outcome.Failed("manifest", $"The build's manifest is unreadable: {e.Message}");
            }
        }
        var log = await ComputeLogs.LastLinesAsync(backends, resource, cancellationToken, lines: 400);
        var (step, output) = BuildSteps.Failed(log);
        return Outcome.Failed(step, output.Length > 0 ? output : resource.Reason ?? $"The build ended {resource.State}.");
    }

    private sealed record Outcome(EnvironmentState State, string? Step, string? Reason, string? Packages, string? Versions)
    {
        public static Outcome Failed(string step, string reason) => new(EnvironmentState.Failed, step, reason, null, null);

        public void ApplyTo(SoftwareEnvironment environment, DateTime now)
        {
            environment.State = State;
            environment.FailedStep = Step;
            environment.Reason = Reason;
            if (State != EnvironmentState.Ready)
                return;
            environment.PackagesJson = Packages!;
            environment.VersionsJson = Versions!;
            environment.Built = now;
        }
    }
}
