using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Compute;
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
            await using var log = await ComputeLogs.OpenAsync(context.RequestServices.GetRequiredService<ComputeBackends>(), pod.Resource, context.RequestAborted);
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
        await using var file = await ComputeLogs.OpenAsync(context.RequestServices.GetRequiredService<ComputeBackends>(), resource, context.RequestAborted);
        if (file is null)
            return;
        await FollowAsync(context, file, resource.Id);
    }

    /// <summary>kbatch's stream: one chunk per line, so the lines a chunk of the log holds are sent one by one.</summary>
    private static async Task FollowAsync(HttpContext context, Stream file, string resourceId)
    {
        var aborted = context.RequestAborted;
        var line = new MemoryStream();
        await ComputeLogs.FollowAsync(context.RequestServices, file, resourceId, Poll, async chunk =>
        {
            var start = 0;
            int newline;
            while ((newline = chunk.Span[start..].IndexOf((byte)'\n')) >= 0)
            {
                line.Write(chunk.Span.Slice(start, newline));
                await SendLineAsync(context.Response, line, aborted);
                start += newline + 1;
            }
            line.Write(chunk.Span[start..]);
        }, aborted);
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
}
