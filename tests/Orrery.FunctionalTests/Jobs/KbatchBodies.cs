using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace Orrery.FunctionalTests.Jobs;

/// <summary>
/// Submit bodies exactly as the kbatch CLI builds them (protocol notes §3.4): <c>{"job": V1Job.to_dict(), "code":
/// V1ConfigMap.to_dict()}</c>, snake_case keys with every null present, <c>generate_name: "&lt;name&gt;-"</c>, one
/// container named <c>job</c> working in <c>/code</c>, and the code as the base64 of a zip laid out as kbatch zips it.
/// </summary>
public static class KbatchBodies
{
    /// <summary>What <c>kbatch job submit</c> sends; <paramref name="code"/> is the zip (or null for no <c>code</c> key).</summary>
    public static JsonObject Job(string name, IReadOnlyList<string>? command = null, IReadOnlyList<string>? args = null,
        IReadOnlyDictionary<string, string>? env = null, byte[]? code = null, string image = "python:3.11-slim", int backoffLimit = 0,
        IReadOnlyDictionary<string, string>? requests = null, IReadOnlyDictionary<string, string>? limits = null)
    {
        var body = new JsonObject
        {
            ["job"] = new JsonObject
            {
                ["api_version"] = "batch/v1",
                ["kind"] = "Job",
                ["metadata"] = Metadata(GenerateName(name)),
                ["spec"] = JobSpec(name, command, args, env, image, backoffLimit, requests, limits),
                ["status"] = null,
            },
        };
        if (code is not null)
            body["code"] = Code(name, code);
        return body;
    }

    /// <summary>What <c>kbatch cronjob submit</c> sends; <paramref name="tweak"/> edits the CronJob spec (policies, suspend).</summary>
    public static JsonObject CronJob(string name, string schedule, IReadOnlyList<string>? command = null, byte[]? code = null,
        Action<JsonObject>? tweak = null, string image = "python:3.11-slim")
    {
        var generateName = name.EndsWith('-') ? name + "cron-" : name + "-cron-";
        var jobTemplateMetadata = new JsonObject
        {
            ["annotations"] = new JsonObject(),
            ["generate_name"] = generateName,
            ["labels"] = new JsonObject(),
        };
        var spec = new JsonObject
        {
            ["concurrency_policy"] = null,
            ["failed_jobs_history_limit"] = null,
            ["job_template"] = new JsonObject
            {
                ["metadata"] = jobTemplateMetadata,
                ["spec"] = JobSpec(name, command, null, null, image, 0, null, null),
            },
            ["schedule"] = schedule,
            ["starting_deadline_seconds"] = 300,
            ["successful_jobs_history_limit"] = null,
            ["suspend"] = null,
            ["time_zone"] = null,
        };
        tweak?.Invoke(spec);
        var body = new JsonObject
        {
            ["job"] = new JsonObject
            {
                ["api_version"] = "batch/v1",
                ["kind"] = "CronJob",
                ["metadata"] = Metadata(generateName),
                ["spec"] = spec,
                ["status"] = null,
            },
        };
        if (code is not null)
            body["code"] = Code(name, code);
        return body;
    }

    /// <summary><c>make_configmap(code, generate_name=job.name).to_dict()</c> with the zip base64-encoded.</summary>
    public static JsonObject Code(string name, byte[] zip) => CodeBase64(name, Convert.ToBase64String(zip));

    public static JsonObject CodeBase64(string name, string base64) => new()
    {
        ["api_version"] = "v1",
        ["binary_data"] = new JsonObject { ["code"] = base64 },
        ["data"] = null,
        ["immutable"] = null,
        ["kind"] = "ConfigMap",
        ["metadata"] = Metadata(name),
    };

    /// <summary>kbatch's zip of a directory: its contents relative to it, <c>sub/</c> entries present, files deflated.</summary>
    public static byte[] Directory(params (string Path, string Content)[] files) =>
        Zip(archive =>
        {
            foreach (var dir in files.Select(f => Path.GetDirectoryName(f.Path)!.Replace('\\', '/')).Where(d => d.Length > 0).Distinct())
                archive.CreateEntry(dir + "/");
            foreach (var (path, content) in files)
                Add(archive, path, Encoding.UTF8.GetBytes(content), CompressionLevel.Optimal);
        });

    /// <summary>kbatch's zip of a single file: one entry named with the file's basename, stored.</summary>
    public static byte[] SingleFile(string name, byte[] content) =>
        Zip(archive => Add(archive, name, content, CompressionLevel.NoCompression));

    public static byte[] SingleFile(string name, string content) => SingleFile(name, Encoding.UTF8.GetBytes(content));

    /// <summary>A zip made by hand (hostile entries: names, Unix modes in <c>ExternalAttributes</c>).</summary>
    public static byte[] Zip(Action<ZipArchive> build)
    {
        using var stream = new MemoryStream();
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            build(archive);
        return stream.ToArray();
    }

    public static ZipArchiveEntry Add(ZipArchive archive, string name, byte[] content, CompressionLevel level = CompressionLevel.Optimal,
        int? unixMode = null)
    {
        var entry = archive.CreateEntry(name, level);
        entry.ExternalAttributes = (unixMode ?? 0x81A4) << 16;   // S_IFREG | 0644, as Python's zipfile records it
        using var data = entry.Open();
        data.Write(content);
        return entry;
    }

    private static string GenerateName(string name) => name.EndsWith('-') ? name : name + "-";

    private static JsonObject JobSpec(string name, IReadOnlyList<string>? command, IReadOnlyList<string>? args,
        IReadOnlyDictionary<string, string>? env, string image, int backoffLimit, IReadOnlyDictionary<string, string>? requests,
        IReadOnlyDictionary<string, string>? limits) => new()
        {
            ["active_deadline_seconds"] = null,
            ["backoff_limit"] = backoffLimit,
            ["backoff_limit_per_index"] = null,
            ["completion_mode"] = null,
            ["completions"] = null,
            ["manual_selector"] = null,
            ["max_failed_indexes"] = null,
            ["parallelism"] = null,
            ["pod_failure_policy"] = null,
            ["pod_replacement_policy"] = null,
            ["selector"] = null,
            ["success_policy"] = null,
            ["suspend"] = null,
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["annotations"] = new JsonObject(),
                    ["labels"] = new JsonObject(),
                    ["name"] = name.TrimEnd('-') + "-pod",
                },
                ["spec"] = PodSpec(command, args, env, image, requests, limits),
            },
            ["ttl_seconds_after_finished"] = 300,
        };

    private static JsonObject PodSpec(IReadOnlyList<string>? command, IReadOnlyList<string>? args, IReadOnlyDictionary<string, string>? env,
        string image, IReadOnlyDictionary<string, string>? requests, IReadOnlyDictionary<string, string>? limits)
    {
        var spec = new JsonObject();
        foreach (var key in new[]
                 {
                     "active_deadline_seconds", "affinity", "automount_service_account_token", "dns_config", "dns_policy",
                     "enable_service_links", "ephemeral_containers", "host_aliases", "host_ipc", "host_network", "host_pid", "host_users",
                     "hostname", "image_pull_secrets", "init_containers", "node_name", "node_selector", "os", "overhead",
                     "preemption_policy", "priority", "priority_class_name", "readiness_gates", "resource_claims", "runtime_class_name",
                     "scheduler_name", "scheduling_gates", "security_context", "service_account", "service_account_name",
                     "set_hostname_as_fqdn", "share_process_namespace", "subdomain", "termination_grace_period_seconds", "tolerations",
                     "topology_spread_constraints", "volumes",
                 })
            spec[key] = null;
        var container = new JsonObject();
        foreach (var key in new[]
                 {
                     "env_from", "image_pull_policy", "lifecycle", "liveness_probe", "ports", "readiness_probe", "resize_policy",
                     "restart_policy", "security_context", "startup_probe", "stdin", "stdin_once", "termination_message_path",
                     "termination_message_policy", "tty", "volume_devices", "volume_mounts",
                 })
            container[key] = null;
        container["args"] = Strings(args);
        container["command"] = Strings(command);
        container["env"] = env is null ? null
            : new JsonArray(env.Select(e => (JsonNode)new JsonObject { ["name"] = e.Key, ["value"] = e.Value, ["value_from"] = null }).ToArray());
        container["image"] = image;
        container["name"] = "job";
        container["resources"] = new JsonObject { ["claims"] = null, ["limits"] = Map(limits), ["requests"] = Map(requests) };
        container["working_dir"] = "/code";
        spec["containers"] = new JsonArray(container);
        spec["restart_policy"] = "Never";
        return spec;
    }

    private static JsonObject Metadata(string generateName) => new()
    {
        ["annotations"] = new JsonObject(),
        ["creation_timestamp"] = null,
        ["deletion_grace_period_seconds"] = null,
        ["deletion_timestamp"] = null,
        ["finalizers"] = null,
        ["generate_name"] = generateName,
        ["generation"] = null,
        ["labels"] = new JsonObject(),
        ["managed_fields"] = null,
        ["name"] = null,
        ["namespace"] = null,
        ["owner_references"] = null,
        ["resource_version"] = null,
        ["self_link"] = null,
        ["uid"] = null,
    };

    private static JsonArray? Strings(IReadOnlyList<string>? values) =>
        values is null ? null : new JsonArray(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    private static JsonObject Map(IReadOnlyDictionary<string, string>? values)
    {
        var map = new JsonObject();
        foreach (var (key, value) in values ?? new Dictionary<string, string>())
            map[key] = value;
        return map;
    }
}
