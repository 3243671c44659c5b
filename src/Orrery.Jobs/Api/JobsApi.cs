using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Api;
using Orrery.Hub.Auth;
using Orrery.Jobs.Running;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>
/// The kbatch-proxy routes the kbatch CLI calls (protocol notes §3.2), each with and without its trailing slash.
/// Creates answer 200, as FastAPI does. Every object is the caller's own: other users' names are simply not found.
/// </summary>
public static class JobsApi
{
    public static void Map(RouteGroupBuilder open, RouteGroupBuilder api)
    {
        open.MapGet("/", () => new JsonWriterResult(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("message", "kbatch");
            w.WriteEndObject();
        }));
        MapBoth(open, "GET", "/profiles", Profiles);
        MapBoth(api, "GET", "/authorized", Authorized);
        MapBoth(api, "GET", "/jobs", ListJobs);
        MapBoth(api, "POST", "/jobs", SubmitJob);
        MapBoth(api, "GET", "/jobs/{name}", ShowJob);
        MapBoth(api, "DELETE", "/jobs/{name}", DeleteJob);
        MapBoth(api, "GET", "/jobs/logs/{name}", JobLogsAsync);
        MapBoth(api, "GET", "/pods", ListPods);
        MapBoth(api, "GET", "/pods/{name}", ShowPod);
        MapBoth(api, "GET", "/pods/logs/{name}", PodLogsAsync);
        CronJobsApi.Map(api);
    }

    /// <summary>Routing matches a path with or without its trailing slash, so one mapping serves both spellings.</summary>
    public static void MapBoth(RouteGroupBuilder group, string method, string pattern, Delegate handler) =>
        group.MapMethods(pattern, [method], handler);

    private static IResult Profiles(IOptions<JobsOptions> options) => new JsonWriterResult(200, w =>
    {
        w.WriteStartObject();
        foreach (var (name, profile) in options.Value.Profiles)
        {
            w.WriteStartObject(name);
            if (profile.Image is not null)
                w.WriteString("image", profile.Image);
            w.WriteStartObject("resources");
            WriteMap(w, "requests", profile.Requests);
            WriteMap(w, "limits", profile.Limits);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    });

    private static void WriteMap(Utf8JsonWriter w, string name, Dictionary<string, string> values)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in values)
            w.WriteString(key, value);
        w.WriteEndObject();
    }

    private static IResult Authorized(HttpContext context)
    {
        var caller = context.Caller();
        return new JsonWriterResult(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", caller.Name);
            w.WriteStrings("groups", caller.User.Groups);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ListJobs(HttpContext context, OrreryDb db)
    {
        var caller = context.Caller();
        var views = await JobQueries.ViewsAsync(db, caller, db.Jobs.Where(j => j.OwnerId == caller.User.Id), context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WriteList(w, "batch/v1", "JobList", items =>
        {
            foreach (var view in views)
                KubeObjects.WriteJob(items, view);
        }));
    }

    private static async Task<IResult> ShowJob(string name, HttpContext context, OrreryDb db) =>
        JobResult(await JobQueries.OneAsync(db, context.Caller(), name, context.RequestAborted));

    private static IResult JobResult(JobView view) => new JsonWriterResult(200, w => KubeObjects.WriteJob(w, view));

    private static async Task<IResult> SubmitJob(HttpContext context, OrreryDb db, JobService jobs, IOptions<JobsOptions> options)
    {
        var caller = context.Caller();
        using var body = await ReadBodyAsync(context, options.Value);
        var request = JobRequests.ParseJob(Property(body.RootElement, "job"));
        var job = await jobs.SubmitAsync(caller, request, JobRequests.Code(body.RootElement), null, null, context.RequestAborted);
        return JobResult(await JobQueries.OneAsync(db, caller, job.Name, context.RequestAborted));
    }

    private static async Task<IResult> DeleteJob(string name, HttpContext context, JobService jobs)
    {
        var job = await jobs.DeleteAsync(context.Caller().User.Id, name, context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WriteDeleted(w, job.Name, "jobs", job.Uid));
    }

    private static async Task JobLogsAsync(string name, HttpContext context, OrreryDb db)
    {
        var view = await JobQueries.OneAsync(db, context.Caller(), name, context.RequestAborted);
        var pod = view.Pods.Count > 0 ? view.Pods[0] : throw new JobsApiException(404, $"No pods found for job {name}");
        await JobLogs.WriteAsync(context, pod, Stream(context));
    }

    private static async Task<IResult> ListPods(HttpContext context, OrreryDb db)
    {
        var caller = context.Caller();
        var jobName = context.Request.Query["job_name"].ToString();
        var jobs = db.Jobs.Where(j => j.OwnerId == caller.User.Id);
        if (jobName.Length > 0)   // kbatch sends job_name= (empty) for "all"
            jobs = jobs.Where(j => j.Name == jobName);
        var views = await JobQueries.ViewsAsync(db, caller, jobs, context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WriteList(w, "v1", "PodList", items =>
        {
            foreach (var view in views)
                foreach (var pod in view.Pods)
                    KubeObjects.WritePod(items, view, pod);
        }));
    }

    private static async Task<IResult> ShowPod(string name, HttpContext context, OrreryDb db)
    {
        var (view, pod) = await JobQueries.PodAsync(db, context.Caller(), name, context.RequestAborted);
        return new JsonWriterResult(200, w => KubeObjects.WritePod(w, view, pod));
    }

    private static async Task PodLogsAsync(string name, HttpContext context, OrreryDb db)
    {
        var (_, pod) = await JobQueries.PodAsync(db, context.Caller(), name, context.RequestAborted);
        await JobLogs.WriteAsync(context, pod, Stream(context));
    }

    /// <summary>FastAPI's boolean parsing of <c>?stream=</c>.</summary>
    private static bool Stream(HttpContext context) =>
        context.Request.Query["stream"].ToString().ToLowerInvariant() is "true" or "1" or "yes" or "on";

    /// <summary>
    /// The submit body: a code bundle may be far above Orrery's general body limit, so this route allows the
    /// bundle limit (in base64) plus room for the job itself.
    /// </summary>
    public static async Task<JsonDocument> ReadBodyAsync(HttpContext context, JobsOptions options)
    {
        var bundle = JobFiles.Limits(options).MaxCompressedBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = bundle / 3 * 4 + (4 << 20);
        try
        {
            var body = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
            if (HubBody.IsValidText(body.RootElement))
                return body;
            body.Dispose();
            throw new JobsApiException(422, "the body is not valid JSON: it holds a string that is not valid text");
        }
        catch (JsonException e)
        {
            throw new JobsApiException(422, $"the body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw new JobsApiException(413, $"the request is larger than the code bundle limit of {ByteSizes.Format(bundle)} allows (Orrery:Jobs:MaxBundleSize)");
        }
    }

    public static JsonElement Property(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value) ? value
            : throw new JobsApiException(422, $"the body needs a '{name}' object");

    public static Caller Caller(this HttpContext context) => (Caller)context.Items[typeof(Caller)]!;
}
