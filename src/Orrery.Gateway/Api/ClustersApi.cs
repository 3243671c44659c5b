using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Compute;
using Orrery.Core.Configuration;
using Orrery.Core.Environments;
using Orrery.Core.Lifecycle;
using Orrery.Gateway.Clusters;
using Orrery.Hub.Auth;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Gateway.Api;

/// <summary>The dask-gateway HTTP API (protocol spec §3) under {BaseUrl}services/dask-gateway/api/.</summary>
public static class ClustersApi
{
    public static void Map(RouteGroupBuilder open, RouteGroupBuilder api)
    {
        open.MapGet("/api/version", () => GatewayResults.Json(w => { w.WriteStartObject(); w.WriteString("version", "2024.1.0"); w.WriteEndObject(); }));
        open.MapGet("/api/health", () => GatewayResults.Json(w => { w.WriteStartObject(); w.WriteString("status", "pass"); w.WriteEndObject(); }));
        api.MapGet("/api/v1/options", Options);
        api.MapGet("/api/v1/clusters/", List);
        api.MapPost("/api/v1/clusters/", Create);
        api.MapGet("/api/v1/clusters/{name}", Get);
        api.MapDelete("/api/v1/clusters/{name}", Delete);
        api.MapPost("/api/v1/clusters/{name}/scale", Scale);
        api.MapPost("/api/v1/clusters/{name}/adapt", Adapt);
        open.MapFallback("/api/{**rest}", () => GatewayResults.Error(404, "Not Found"));
    }

    private static IResult Options(HttpContext context, IOptions<GatewayOptions> options)
    {
        var spec = ClusterOptionsSpec.For(options.Value, context.Caller().User.Groups);
        return GatewayResults.Json(spec.WriteSpec);
    }

    private static async Task<IResult> List(HttpContext context, OrreryDb db)
    {
        var wanted = ParseStatuses(context.Request.Query["status"].ToString());
        var userId = context.Caller().User.Id;
        var clusters = await db.Clusters.AsNoTracking().Where(c => c.OwnerId == userId).OrderBy(c => c.Created).ToListAsync(context.RequestAborted);
        var shown = clusters.Where(c => wanted.Contains(ClusterReport.Status(c))).ToList();
        return GatewayResults.Json(w =>
        {
            w.WriteStartObject();
            foreach (var cluster in shown)
            {
                w.WritePropertyName(cluster.Name);
                ClusterReport.Write(w, cluster);
            }
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> Create(HttpContext context, OrreryDb db, ClusterLimiter limiter, ClusterReconciler reconciler,
        TimeProvider time, IOptions<GatewayOptions> options, IOptions<OrreryOptions> orrery, ILogger<ClusterReconciler> logger)
    {
        var caller = context.Caller();
        var body = await ReadObjectAsync(context.Request);
        if (body["cluster_options"] is not (null or JsonObject))
            throw new GatewayApiException(422, "cluster_options must be an object");
        var (validated, error) = ClusterOptionsSpec.For(options.Value, caller.User.Groups).Validate(body["cluster_options"] as JsonObject);
        if (error is not null)
            throw new GatewayApiException(422, error);
        var settings = ClusterSettings.From(validated!);
        var backends = context.RequestServices.GetRequiredService<ComputeBackends>();
        foreach (var (field, backend) in new[] { ("scheduler_backend", settings.SchedulerBackendOr(options.Value, orrery.Value.DefaultBackend)),
                                                 ("worker_backend", settings.WorkerBackendOr(options.Value, orrery.Value.DefaultBackend)) })
            if (backends.Find(backend) is null)
                throw new GatewayApiException(422, $"{field}: unknown compute backend '{backend}'; this Orrery has: {string.Join(", ", backends.Names)}");
        var (environmentId, warning) = await ClusterEnvironment.ChooseAsync(context.RequestServices.GetRequiredService<IEnvironments>(), db, caller,
            settings.Image, context.RequestAborted);
        var name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var (certificate, key) = ClusterCertificate.Create(name, time.GetUtcNow());
        var cluster = new DaskCluster
        {
            Name = name, OwnerId = caller.User.Id, State = ResourceState.Pending, OptionsJson = validated!.ToJsonString(),
            WorkerCores = settings.WorkerCores, WorkerMemory = settings.WorkerMemory, WorkerThreads = settings.WorkerThreads,
            CertificatePem = certificate, KeyPem = key, WorkDir = Path.Combine(orrery.Value.DataDir, "clusters", name),
            Created = time.GetUtcNow().UtcDateTime,
            // Created from a personal server (with its token): the cluster ends with that server unless kept.
            ServerId = caller.ServerId,
            EnvironmentId = environmentId,
            Warning = warning,
        };
        var max = options.Value.Limits.MaxClusters;
        var admitted = await limiter.WithClusterCountAsync(caller.User.Id, active =>
        {
            if (max > 0 && active >= max)
                return false;
            db.Clusters.Add(cluster);
            return true;
        }, context.RequestAborted);
        if (!admitted)
            throw new GatewayApiException(409, $"User {caller.Name} already has the maximum of {max} active clusters; stop one first");
        reconciler.Wake();
        logger.ClusterCreated(name, caller.Name);
        if (warning is not null)
            logger.ClusterEnvironmentDiffers(name, warning);
        return GatewayResults.Json(201, w => { w.WriteStartObject(); w.WriteString("name", name); w.WriteEndObject(); });
    }

    private static async Task<IResult> Get(string name, HttpContext context, OrreryDb db, ClusterSignals signals, TimeProvider time, IOptions<GatewayOptions> options)
    {
        var cluster = await OwnedAsync(context, db, name, "view");
        if (WantsWait(context.Request))
        {
            var deadline = time.GetUtcNow() + options.Value.WaitLimit;
            while (ClusterReport.Status(cluster) == "PENDING" && time.GetUtcNow() < deadline)
            {
                var change = signals.NextChange(name);
                cluster = await db.Clusters.AsNoTracking().FirstAsync(c => c.Name == name, context.RequestAborted);
                if (ClusterReport.Status(cluster) != "PENDING")
                    break;
                await Task.WhenAny(change, Task.Delay(deadline - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero, time, context.RequestAborted));
                cluster = await db.Clusters.AsNoTracking().FirstAsync(c => c.Name == name, context.RequestAborted);
            }
        }
        return GatewayResults.Json(w => ClusterReport.Write(w, cluster));
    }

    private static async Task<IResult> Delete(string name, HttpContext context, OrreryDb db, ClusterReconciler reconciler)
    {
        var cluster = await db.Clusters.FirstOrDefaultAsync(c => c.Name == name, context.RequestAborted);
        if (cluster is null)
            return GatewayResults.NoContent(); // idempotent, as upstream
        if (cluster.OwnerId != context.Caller().User.Id)
            throw new GatewayApiException(403, $"User {context.Caller().Name} lacks permissions to stop cluster {name}");
        if (!cluster.StopRequested && !ResourceLifecycle.IsTerminal(cluster.State))
        {
            cluster.StopRequested = true;
            await db.SaveChangesAsync(context.RequestAborted);
            reconciler.Wake();
        }
        return GatewayResults.NoContent();
    }

    private static async Task<IResult> Scale(string name, HttpContext context, OrreryDb db, ClusterLimiter limiter, ClusterReconciler reconciler)
    {
        var body = await ReadObjectAsync(context.Request);
        var count = body["count"] is JsonValue value && value.TryGetValue<long>(out var n) && n >= 0 && n <= int.MaxValue ? (int)n
            : throw new GatewayApiException(422, "count must be a non-negative integer");
        var cluster = await RunningAsync(context, db, name);
        var (ok, message) = await limiter.WithBudgetAsync(cluster, max =>
        {
            cluster.Adaptive = false; // an explicit scale ends adaptive mode
            cluster.TargetWorkers = max is { } m && count > m ? m : count;
            return cluster.TargetWorkers == count
                ? (true, (string?)null)
                : (false, $"Scale request of {count} workers would exceed resource limit of {cluster.TargetWorkers} workers. Scaling to {cluster.TargetWorkers} instead.");
        }, context.RequestAborted);
        reconciler.Wake();
        return OkMessage(ok, message);
    }

    private static async Task<IResult> Adapt(string name, HttpContext context, OrreryDb db, ClusterLimiter limiter, ClusterReconciler reconciler)
    {
        var body = await ReadObjectAsync(context.Request);
        var minimum = OptionalCount(body, "minimum");
        var maximum = OptionalCount(body, "maximum");
        var active = body["active"] switch
        {
            null => true,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw new GatewayApiException(422, "active must be true or false"),
        };
        if (minimum > maximum)
            throw new GatewayApiException(422, $"minimum ({minimum}) must not be greater than maximum ({maximum})");
        var cluster = await RunningAsync(context, db, name);
        var (ok, message) = await limiter.WithBudgetAsync(cluster, max =>
        {
            cluster.Adaptive = active;
            if (!active)
                return (true, (string?)null);
            var wantedMax = maximum ?? max ?? int.MaxValue;
            var wantedMin = minimum ?? 0;
            var usedMax = max is { } m ? Math.Min(wantedMax, m) : wantedMax;
            var usedMin = Math.Min(wantedMin, usedMax);
            cluster.AdaptiveMinimum = usedMin;
            cluster.AdaptiveMaximum = usedMax;
            cluster.TargetWorkers = Math.Clamp(cluster.TargetWorkers, usedMin, usedMax);
            return usedMax == wantedMax && usedMin == wantedMin
                ? (true, (string?)null)
                : (false, $"Adapt with `maximum={wantedMax}, minimum={wantedMin}` workers would exceed resource limit of {max} workers. Using `maximum={usedMax}, minimum={usedMin}` instead.");
        }, context.RequestAborted);
        reconciler.Wake();
        return OkMessage(ok, message);
    }

    private static IResult OkMessage(bool ok, string? message) => GatewayResults.Json(w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("ok", ok);
        w.WriteString("msg", message);
        w.WriteEndObject();
    });

    private static async Task<DaskCluster> OwnedAsync(HttpContext context, OrreryDb db, string name, string verb)
    {
        var cluster = await db.Clusters.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, context.RequestAborted)
                      ?? throw new GatewayApiException(404, $"Cluster {name} not found");
        var caller = context.Caller();
        return cluster.OwnerId == caller.User.Id ? cluster
            : throw new GatewayApiException(403, $"User {caller.Name} lacks permissions to {verb} cluster {name}");
    }

    private static async Task<DaskCluster> RunningAsync(HttpContext context, OrreryDb db, string name)
    {
        await OwnedAsync(context, db, name, "scale");
        var cluster = await db.Clusters.FirstAsync(c => c.Name == name, context.RequestAborted);
        return ClusterReport.Status(cluster) == "RUNNING" ? cluster : throw new GatewayApiException(409, $"cluster {name} is not running");
    }

    private static HashSet<string> ParseStatuses(string raw)
    {
        if (raw.Length == 0)
            return ["PENDING", "RUNNING"];
        var names = raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var bad = names.FirstOrDefault(n => !ClusterReport.StatusNames.Contains(n.ToUpperInvariant()));
        return bad is null ? names.Select(n => n.ToUpperInvariant()).ToHashSet() : throw new GatewayApiException(422, $"'{bad}' is not a valid ClusterStatus");
    }

    /// <summary>Upstream reads `?wait` with no value as true, numbers as numbers, anything else as false.</summary>
    private static bool WantsWait(HttpRequest request) =>
        request.Query.TryGetValue("wait", out var value)
        && (value.ToString().Length == 0 || (int.TryParse(value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n != 0));

    private static int? OptionalCount(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var n) && n >= 0 && n <= int.MaxValue => (int)n,
        _ => throw new GatewayApiException(422, $"{field} must be a non-negative integer or null"),
    };

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            // JsonNode defers some checks until values are read (duplicate keys, lone surrogates): read everything once now.
            Touch(node);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new GatewayApiException(422, "Request body must be valid JSON");
        }
        catch (BadHttpRequestException e)
        {
            throw new GatewayApiException(e.StatusCode, e.Message);
        }
        return node as JsonObject ?? throw new GatewayApiException(422, "Request body must be a JSON object");
    }

    private static void Touch(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (_, value) in map)
                    Touch(value);
                break;
            case JsonArray list:
                foreach (var item in list)
                    Touch(item);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                _ = value.GetValue<string>();
                break;
        }
    }

    private static Caller Caller(this HttpContext context) => (Caller)context.Items[typeof(Caller)]!;
}
