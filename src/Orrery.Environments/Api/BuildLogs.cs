using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;

namespace Orrery.Environments.Api;

/// <summary>A build's log from the backend's log file: all of it, or followed (each chunk flushed) until the build ends.</summary>
public static class BuildLogs
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public static async Task WriteAsync(HttpContext context, string? resourceId, bool follow)
    {
        var aborted = context.RequestAborted;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var resource = resourceId is null ? null
            : await context.RequestServices.GetRequiredService<OrreryDb>().Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == resourceId, aborted);
        // A build waits for the reconciler to launch it: follow waits for its handle rather than answering with nothing.
        while (follow && resource is { Handle: null } && !ResourceLifecycle.IsTerminal(resource.State))
        {
            await Task.Delay(Poll, aborted);
            resource = await StateAsync(context.RequestServices, resource.Id, aborted);
        }
        if (resource is null)
            return;
        await using var log = await ComputeLogs.OpenAsync(context.RequestServices.GetRequiredService<ComputeBackends>(), resource, aborted);
        if (log is null)
            return;
        if (!follow)
        {
            await log.CopyToAsync(context.Response.Body, aborted);
            return;
        }
        await ComputeLogs.FollowAsync(context.RequestServices, log, resource.Id, Poll, async chunk =>
        {
            await context.Response.Body.WriteAsync(chunk, aborted);
            await context.Response.Body.FlushAsync(aborted);
        }, aborted);
    }

    private static async Task<Storage.Entities.ComputeResource?> StateAsync(IServiceProvider services, string id, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<OrreryDb>().Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
    }
}
