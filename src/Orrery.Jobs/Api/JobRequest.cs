using System.Text.Json;

namespace Orrery.Jobs.Api;

/// <summary>
/// What Orrery honours of a submitted Kubernetes Job (kbatch's <c>V1Job.to_dict()</c>, snake_case or camelCase):
/// the first container's image, command, args, env and resources, the backoff limit and the name. Everything else
/// (volumes, security settings, extra containers) is ignored, as the spec's §4.5 advises.
/// </summary>
public sealed record JobRequest(
    string GenerateName, string? Name, string Image, IReadOnlyList<string>? Command, IReadOnlyList<string>? Args,
    IReadOnlyList<EnvVar> Env, double? Cores, long? MemoryBytes, int BackoffLimit)
{
    /// <summary>Kubernetes semantics without an image entrypoint: command + args, or args alone.</summary>
    public IReadOnlyList<string> Argv => [.. Command ?? [], .. Args ?? []];
}

public sealed record EnvVar(string Name, string Value);

/// <summary>A submitted CronJob: the schedule, Kubernetes' policies and the job each run creates.</summary>
public sealed record CronJobRequest(
    string GenerateName, string? Name, string Schedule, bool Suspend, string ConcurrencyPolicy, int SuccessfulJobsHistoryLimit,
    int FailedJobsHistoryLimit, int? StartingDeadlineSeconds, JobRequest Job);

/// <summary>Reads submit bodies; every problem is a 422 naming the field.</summary>
public static class JobRequests
{
    public static JobRequest ParseJob(JsonElement job, string what = "job")
    {
        RequireObject(job, what);
        var metadata = Field(job, "metadata");
        var spec = Field(job, "spec");
        RequireObject(spec, $"{what}.spec");
        var podSpec = Field(Field(spec, "template"), "spec");
        var containers = Field(podSpec, "containers");
        if (containers.ValueKind != JsonValueKind.Array || containers.GetArrayLength() == 0)
            throw Invalid($"{what}.spec.template.spec.containers must list the job's container");
        var container = containers[0];
        var image = String(container, "image") ?? "";
        if (image.Length == 0)
            throw Invalid($"{what}.spec.template.spec.containers[0].image is required");
        var command = Strings(container, "command", what);
        var args = Strings(container, "args", what);
        if ((command?.Count ?? 0) + (args?.Count ?? 0) == 0)
            throw Invalid($"{what}.spec.template.spec.containers[0] needs a command or args: there is no image entrypoint to run");
        var resources = Field(container, "resources");
        double? cores;
        long? memory;
        try
        {
            cores = KubeQuantities.Cores(Quantity(resources, "cpu"));
            memory = KubeQuantities.Bytes(Quantity(resources, "memory"));
        }
        catch (FormatException e)
        {
            throw Invalid($"{what}.spec.template.spec.containers[0].resources: {e.Message}");
        }
        var backoff = Field(spec, "backoff_limit", "backoffLimit");
        var backoffLimit = backoff.ValueKind switch
        {
            JsonValueKind.Number when backoff.TryGetInt32(out var n) && n is >= 0 and <= 100 => n,
            JsonValueKind.Undefined or JsonValueKind.Null => 6,   // Kubernetes' default
            _ => throw Invalid($"{what}.spec.backoff_limit must be a whole number from 0 to 100"),
        };
        return new JobRequest(GenerateName(metadata, what), String(metadata, "name"), image, command, args,
            Env(container, what), cores, memory, backoffLimit);
    }

    public static CronJobRequest ParseCronJob(JsonElement cron)
    {
        RequireObject(cron, "job");
        var metadata = Field(cron, "metadata");
        var spec = Field(cron, "spec");
        RequireObject(spec, "job.spec");
        var schedule = String(spec, "schedule") ?? throw Invalid("job.spec.schedule is required (standard cron, UTC)");
        var template = Field(spec, "job_template", "jobTemplate");
        var job = ParseJob(template, "job.spec.job_template");
        var policy = String(spec, "concurrency_policy", "concurrencyPolicy") ?? "Allow";
        if (policy is not ("Allow" or "Forbid" or "Replace"))
            throw Invalid($"job.spec.concurrency_policy must be Allow, Forbid or Replace, got '{policy}'");
        return new CronJobRequest(GenerateName(metadata, "job"), String(metadata, "name"), schedule,
            Field(spec, "suspend").ValueKind == JsonValueKind.True, policy,
            Count(spec, "successful_jobs_history_limit", "successfulJobsHistoryLimit") ?? 3,
            Count(spec, "failed_jobs_history_limit", "failedJobsHistoryLimit") ?? 1,
            Count(spec, "starting_deadline_seconds", "startingDeadlineSeconds"), job);
    }

    /// <summary>The base64 zip of the optional <c>code</c> ConfigMap, or null.</summary>
    public static string? Code(JsonElement body)
    {
        var code = Field(body, "code");
        if (code.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return null;
        return String(Field(code, "binary_data", "binaryData"), "code")
               ?? throw Invalid("code.binary_data.code must hold the base64 of a zip file");
    }

    private static string GenerateName(JsonElement metadata, string what)
    {
        var generate = String(metadata, "generate_name", "generateName") ?? String(metadata, "name")
                       ?? throw Invalid($"{what}.metadata needs a name or generate_name");
        return generate;
    }

    private static List<EnvVar> Env(JsonElement container, string what)
    {
        var env = Field(container, "env");
        if (env.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return [];
        if (env.ValueKind != JsonValueKind.Array)
            throw Invalid($"{what}.spec.template.spec.containers[0].env must be a list of {{name, value}}");
        var result = new List<EnvVar>();
        foreach (var entry in env.EnumerateArray())
        {
            var name = String(entry, "name");
            if (string.IsNullOrEmpty(name))
                throw Invalid($"{what}: every env entry needs a name");
            var value = Field(entry, "value");
            if (value.ValueKind != JsonValueKind.String)
                throw Invalid($"{what}: env {name} must have a string value (a number in YAML must be quoted)");
            result.Add(new EnvVar(name, value.GetString()!));
        }
        return result;
    }

    /// <summary>A resource from limits, else from requests (the local backend runs one process per job either way).</summary>
    private static string? Quantity(JsonElement resources, string name) =>
        String(Field(resources, "limits"), name) ?? String(Field(resources, "requests"), name);

    private static List<string>? Strings(JsonElement container, string name, string what)
    {
        var value = Field(container, name);
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
            throw Invalid($"{what}.spec.template.spec.containers[0].{name} must be a list of strings");
        return value.EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    private static int? Count(JsonElement spec, string snake, string camel)
    {
        var value = Field(spec, snake, camel);
        return value.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            JsonValueKind.Number when value.TryGetInt32(out var n) && n >= 0 => n,
            _ => throw Invalid($"job.spec.{snake} must be a non-negative whole number"),
        };
    }

    private static string? String(JsonElement element, string snake, string? camel = null)
    {
        var value = Field(element, snake, camel);
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            JsonValueKind.Number => value.GetRawText(),   // "cpu": 2 as well as "cpu": "2"
            _ => throw Invalid($"'{snake}' must be a string"),
        };
    }

    private static JsonElement Field(JsonElement element, string snake, string? camel = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
            return default;
        if (element.TryGetProperty(snake, out var value))
            return value;
        return camel is not null && element.TryGetProperty(camel, out var other) ? other : default;
    }

    private static void RequireObject(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Invalid($"'{what}' must be an object");
    }

    private static JobsApiException Invalid(string message) => new(422, message);
}
