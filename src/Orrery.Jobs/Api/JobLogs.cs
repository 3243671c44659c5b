using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>
/// A pod's log (the process's stdout and stderr) as kbatch reads it (protocol notes §3.5): the whole text, or with
/// <c>?stream=true</c> one chunk per line without its newline, flushed as it is written, until the process ends.
/// Logs are the backend's files, so they are complete after an Orrery restart and stay until the job is removed.
/// </summary>
public static class JobLogs
{
    // How often a followed log file is read again at its end: a read of nothing costs one system call.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    public static async Task WriteAsync(HttpContext context, PodView pod, bool stream)
    {
        var response = context.Response;
        if (!stream)
        {
            if (pod.Resource?.Handle is null)
                throw new JobsApiException(400, $"container \"job\" in pod \"{pod.Pod.Name}\" is waiting to start: ContainerCreating");
            response.ContentType = "text/plain; charset=utf-8";
            await using var log = await OpenAsync(context.RequestServices, pod.Resource, context.RequestAborted);
            if (log is not null)
                await log.CopyToAsync(response.Body, context.RequestAborted);
            return;
        }
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        response.ContentType = "text/plain; charset=utf-8";
        // Better than kbatch-proxy's abort for a pod that has not started: wait for it, then stream.
        var resource = await WaitStartedAsync(context, pod.Pod, context.RequestAborted);
        if (resource is null)
            return;
        await using var file = await OpenAsync(context.RequestServices, resource, context.RequestAborted);
        if (file is null)
            return;
        await FollowAsync(context, file, resource.Id);
    }

    private static async Task FollowAsync(HttpContext context, Stream file, string resourceId)
    {
        var aborted = context.RequestAborted;
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        var ended = false;
        while (true)
        {
            var read = await file.ReadAsync(buffer, aborted);
            if (read == 0)
            {
                if (ended)
                    break;
                // At the end of what is written so far: finished (then read what is left once more) or wait.
                ended = await IsFinishedAsync(context.RequestServices, resourceId, aborted);
                if (!ended)
                    await Task.Delay(Poll, aborted);
                continue;
            }
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                    continue;
                line.Write(buffer, start, i - start);
                await SendLineAsync(context.Response, line, aborted);
                start = i + 1;
            }
            line.Write(buffer, start, read - start);
        }
        await SendLineAsync(context.Response, line, aborted);
    }

    /// <summary>One chunk per line, without its newline; an empty line cannot be a chunk, so it is skipped.</summary>
    private static async Task SendLineAsync(HttpResponse response, MemoryStream line, CancellationToken cancellationToken)
    {
        if (line.Length > 0)
        {
            await response.Body.WriteAsync(line.GetBuffer().AsMemory(0, (int)line.Length), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        line.SetLength(0);
    }

    private static async Task<ComputeResource?> WaitStartedAsync(HttpContext context, JobPod pod, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await using (var scope = context.RequestServices.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
                var current = await db.JobPods.Where(p => p.Id == pod.Id).Select(p => new { p.ResourceId, p.Job!.DeleteRequested })
                    .FirstOrDefaultAsync(cancellationToken);
                if (current is null || (current.DeleteRequested && current.ResourceId is null))
                    return null;   // deleted before it ever ran: end the stream rather than wait forever
                var resourceId = current.ResourceId;
                var resource = resourceId is null ? null
                    : await db.Resources.AsNoTracking().FirstOrDefaultAsync(r => r.Id == resourceId, cancellationToken);
                if (resource?.Handle is not null)
                    return resource;
                if (resource is not null && ResourceLifecycle.IsTerminal(resource.State))
                    return null;   // ended without ever running: nothing to show
            }
            await Task.Delay(Poll * 2, cancellationToken);
        }
        return null;
    }

    private static async Task<bool> IsFinishedAsync(IServiceProvider services, string resourceId, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var state = await scope.ServiceProvider.GetRequiredService<OrreryDb>().Resources
            .Where(r => r.Id == resourceId).Select(r => (ResourceState?)r.State).FirstOrDefaultAsync(cancellationToken);
        return state is null || ResourceLifecycle.IsTerminal(state.Value);
    }

    private static async Task<Stream?> OpenAsync(IServiceProvider services, ComputeResource resource, CancellationToken cancellationToken) =>
        services.GetRequiredService<ComputeBackends>().Find(resource.Backend) is { } backend && resource.Handle is not null
            ? await backend.OpenLogAsync(new BackendHandle(resource.Backend, resource.Handle), cancellationToken)
            : null;
}
