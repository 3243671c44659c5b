using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Core.Lifecycle;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Servers.Spawning;
using Orrery.Storage;

namespace Orrery.Servers.Api;

/// <summary>
/// JupyterHub's server routes (protocol notes §1.8, §1.9): start and stop the default or a named server, and follow
/// a spawn's progress as server-sent events. Answers are empty <c>text/plain</c> with 201/202/204, errors the
/// hub's JSON.
/// </summary>
public static class ServersApi
{
    public static void Map(RouteGroupBuilder api)
    {
        // The default server's routes are the named ones with the name "".
        api.MapPost("/users/{name}/server", (string name, HttpContext context, OrreryDb db, ServerManager servers) =>
            Start(name, "", context, db, servers));
        api.MapPost("/users/{name}/servers/{server}", (string name, string server, HttpContext context, OrreryDb db, ServerManager servers) =>
            Start(name, Unescape(server), context, db, servers));
        api.MapDelete("/users/{name}/server", (string name, HttpContext context, OrreryDb db, ServerManager servers) =>
            Stop(name, "", context, db, servers));
        api.MapDelete("/users/{name}/servers/{server}", (string name, string server, HttpContext context, OrreryDb db, ServerManager servers) =>
            Stop(name, Unescape(server), context, db, servers));
        api.MapGet("/users/{name}/server/progress",
            (string name, HttpContext context, OrreryDb db, ServerEvents events, IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, TimeProvider time) =>
                Progress(name, "", context, db, events, options, orrery, time));
        api.MapGet("/users/{name}/servers/{server}/progress",
            (string name, string server, HttpContext context, OrreryDb db, ServerEvents events, IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, TimeProvider time) =>
                Progress(name, Unescape(server), context, db, events, options, orrery, time));
    }

    /// <summary>Routing leaves <c>%2F</c> encoded in a segment; the name check must see the '/' it stands for.</summary>
    private static string Unescape(string segment) => Uri.UnescapeDataString(segment);

    private static async Task<IResult> Start(string name, string server, HttpContext context, OrreryDb db, ServerManager servers)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "servers");
        var body = await HubBody.ReadAsync(context.Request);
        var outcome = await servers.StartAsync(user, server, body.Root, context.RequestAborted);
        return Empty(outcome == RequestOutcome.Done ? 201 : 202);
    }

    private static async Task<IResult> Stop(string name, string server, HttpContext context, OrreryDb db, ServerManager servers)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "delete:servers");
        var body = await HubBody.ReadAsync(context.Request);
        var remove = body.IsEmpty ? false : body.RequireObject().Bool("remove") ?? false;
        var outcome = await servers.StopAsync(user, server, remove, caller.Name, context.RequestAborted);
        return Empty(outcome == RequestOutcome.Done ? 204 : 202);
    }

    /// <summary>An empty <c>text/plain</c> answer, as JupyterHub sends (a 204 carries no body at all).</summary>
    private static IResult Empty(int status) => new EmptyText(status);

    private sealed class EmptyText(int status) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            if (status != StatusCodes.Status204NoContent)
            {
                context.Response.ContentType = "text/plain";
                context.Response.ContentLength = 0;
            }
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// <c>text/event-stream</c>: a blank line first, each event as <c>data: {json}</c>, a blank line as keep-alive every
    /// 8 s, and the stream ends after the final event (<c>ready</c> with <c>url</c>, or <c>failed</c>).
    /// </summary>
    private static async Task<IResult> Progress(string name, string server, HttpContext context, OrreryDb db, ServerEvents events,
        IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, TimeProvider time)
    {
        var caller = context.Caller();
        var user = await HubAccess.UserAsync(caller, db, name, context.RequestAborted, "read:servers");
        var row = await db.Servers.AsNoTracking().FirstOrDefaultAsync(s => s.UserId == user.Id && s.Name == server, context.RequestAborted);
        var identity = new ServerIdentity(user.Name, server, orrery.Value.BaseUrl);
        if (row is null)
            throw new HubApiException(404, server.Length == 0 ? $"{user.Name} has no server" : $"{user.Name} has no server named '{server}'");
        ProgressEvent? immediate = row.State switch
        {
            ResourceState.Running => Ready(identity),
            ResourceState.Failed => new ProgressEvent(100, row.Reason ?? "Spawn failed", Failed: true),
            ResourceState.Pending or ResourceState.Starting => null,
            _ => throw new HubApiException(400, $"{identity.LogName} is not starting..."),
        };
        return new ProgressStream(row.Id, immediate, events, options.Value.ProgressKeepAlive, time);
    }

    private static ProgressEvent Ready(ServerIdentity identity) =>
        new(100, $"Server ready at {identity.Prefix}", Ready: true, Url: identity.Prefix);

    /// <summary>Writes the events of one spawn as they happen.</summary>
    private sealed class ProgressStream(long serverId, ProgressEvent? immediate, ServerEvents events, TimeSpan keepAlive, TimeProvider time) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            var aborted = context.RequestAborted;
            await response.WriteAsync("\n\n", aborted);
            await response.Body.FlushAsync(aborted);
            if (immediate is not null)
            {
                await WriteAsync(response, immediate, aborted);
                return;
            }
            var next = 0;
            try
            {
                while (!aborted.IsCancellationRequested)
                {
                    var (batch, more) = events.Read(serverId, next);
                    foreach (var e in batch)
                    {
                        await WriteAsync(response, e, aborted);
                        if (e.IsFinal)
                            return;
                    }
                    next += batch.Count;
                    var woke = await Task.WhenAny(more, Task.Delay(keepAlive, time, aborted));
                    if (woke != more)
                    {
                        await response.WriteAsync("\n\n", aborted);
                        await response.Body.FlushAsync(aborted);
                    }
                }
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
            }
        }

        private static async Task WriteAsync(HttpResponse response, ProgressEvent e, CancellationToken cancellationToken)
        {
            var json = JsonSerializer.Serialize(ToJson(e));
            await response.WriteAsync($"data: {json}\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }

        private static Dictionary<string, object> ToJson(ProgressEvent e)
        {
            var json = new Dictionary<string, object>();
            if (e.Progress is { } progress)
                json["progress"] = progress;
            json["message"] = e.Message;
            if (e.Ready)
            {
                json["ready"] = true;
                json["html_message"] = $"Server ready at <a href=\"{e.Url}\">{e.Url}</a>";
                json["url"] = e.Url!;
            }
            if (e.Failed)
                json["failed"] = true;
            return json;
        }
    }
}
