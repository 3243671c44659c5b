using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Environments.Api;
using Orrery.Environments.Specs;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Building;

/// <summary>
/// Deletes an environment. Its artifact (directory, image) goes with the last environment of that content, and not
/// while anything still running uses it (409): deleting a virtual environment under a running worker would break it.
/// </summary>
public sealed class EnvironmentRemoval(OrreryDb db, ComputeService compute, EnvironmentFiles files, IOptions<EnvironmentsOptions> options)
{
    public async Task RemoveAsync(SoftwareEnvironment environment, CancellationToken cancellationToken)
    {
        var contentId = environment.ContentId;
        var others = await db.Environments.AnyAsync(e => e.ContentId == contentId && e.Id != environment.Id, cancellationToken);
        if (!others)
        {
            var inUse = await db.Resources.AnyAsync(r => r.Kind != Core.Compute.ResourceKind.Build && r.SpecJson.Contains(contentId)
                && r.State != ResourceState.Stopped && r.State != ResourceState.Failed, cancellationToken);
            if (inUse)
                throw new EnvironmentsApiException(409, $"Environment '{environment.Name}' is in use by a running server, cluster or job; stop them first.");
            if (environment.State == EnvironmentState.Building && environment.BuildResourceId is { } build)
                await compute.RequestStopAsync(build, cancellationToken);
            if (Directory.Exists(files.Directory(contentId)))
                Directory.Delete(files.Directory(contentId), recursive: true);
            if (environment.Kind == EnvironmentSpec.ImageKind)
                await RemoveImageAsync(ImageBuild.Tag(contentId, options.Value));
        }
        db.Environments.Remove(environment);
        await db.SaveChangesAsync(cancellationToken);
    }

    private async Task RemoveImageAsync(string tag)
    {
        var start = new System.Diagnostics.ProcessStartInfo(options.Value.PodmanProgram, ["rmi", "--force", tag])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (options.Value.ContainersConf.Length > 0)
            start.Environment["CONTAINERS_CONF"] = options.Value.ContainersConf;
        try
        {
            using var process = System.Diagnostics.Process.Start(start)!;
            await process.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No podman any more: nothing to remove with it.
        }
    }
}
