using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orrery.Gateway.Clusters;

/// <summary>What the validated options mean for the processes: worker size, environment, idle timeout.</summary>
public sealed record ClusterSettings(double WorkerCores, int WorkerThreads, long WorkerMemory, string Image,
    IReadOnlyDictionary<string, string> Environment, double IdleTimeoutSeconds, string? SchedulerBackend = null, string? WorkerBackend = null,
    IReadOnlyDictionary<string, string>? PlacementOptions = null)
{
    /// <summary>Batch placement (partition, account, qos): the gateway's setting, overridden by the cluster's declared options.</summary>
    public IReadOnlyDictionary<string, string> Placement(GatewayOptions gateway)
    {
        var placement = new Dictionary<string, string>(gateway.Placement, StringComparer.Ordinal);
        foreach (var (key, value) in PlacementOptions ?? new Dictionary<string, string>())
            placement[key] = value;
        return placement;
    }

    /// <summary>Where the scheduler runs: the cluster's option, else the gateway's setting, else Orrery's default.</summary>
    public string SchedulerBackendOr(GatewayOptions gateway, string defaultBackend) =>
        First(SchedulerBackend, gateway.SchedulerBackend, defaultBackend);

    public string WorkerBackendOr(GatewayOptions gateway, string defaultBackend) =>
        First(WorkerBackend, gateway.WorkerBackend, defaultBackend);

    private static string First(params string?[] names) => names.First(n => !string.IsNullOrEmpty(n))!;

    private const long GiB = 1024L * 1024 * 1024;

    public static ClusterSettings From(JsonObject options)
    {
        double Number(string field, double fallback) =>
            options[field] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : fallback;
        var cores = Number("worker_cores", 1);
        var environment = options["environment"] is JsonObject map
            ? map.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? "")
            : new Dictionary<string, string>();
        return new ClusterSettings(
            cores,
            (int)Math.Max(1, Number("worker_threads", Math.Max(1, Math.Floor(cores)))),
            (long)(Number("worker_memory", 1) * GiB),
            options["image"] is JsonValue image && image.GetValueKind() == JsonValueKind.String ? image.GetValue<string>() : "",
            environment,
            Number("idle_timeout", 0),
            Text("scheduler_backend"),
            Text("worker_backend"),
            new[] { "partition", "account", "qos" }.Where(f => !string.IsNullOrEmpty(Text(f))).ToDictionary(f => f, f => Text(f)!));
        string? Text(string field) => options[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    }
}
