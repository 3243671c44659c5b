using System.Globalization;
using System.Text;
using System.Text.Json;
using Orrery.Storage.Entities;

namespace Orrery.Jobs.Api;

/// <summary>
/// Writes jobs, pods and cron jobs as the Python Kubernetes client's <c>to_dict()</c> does: snake_case keys, null
/// keys present, times as <c>2024-01-01T10:00:00+00:00</c> (protocol notes §3.7, §3.8). The status fields
/// <c>kbatch job list -o table</c> reads are always there: <c>ready</c>, a count above zero, <c>start_time</c>,
/// <c>completion_time</c> for succeeded jobs and a <c>conditions</c> list for failed ones. Environment values are
/// never echoed: each variable points at a secret, as kbatch-proxy's jobs do.
/// </summary>
public static class KubeObjects
{
    public const string UserKey = "kbatch.jupyter.org/username";

    public static string Time(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    public static void WriteJob(Utf8JsonWriter w, JobView view)
    {
        var job = view.Job;
        w.WriteStartObject();
        w.WriteString("api_version", "batch/v1");
        w.WriteString("kind", "Job");
        WriteMetadata(w, job.Name, job.GenerateName, job.Uid, job.Created, view.Owner, null);
        w.WriteStartObject("spec");
        w.WriteNull("active_deadline_seconds");
        w.WriteNumber("backoff_limit", job.BackoffLimit);
        w.WriteNumber("completions", 1);
        w.WriteNull("manual_selector");
        w.WriteNumber("parallelism", 1);
        w.WriteBoolean("suspend", false);
        w.WriteStartObject("template");
        WritePodTemplateMetadata(w, job, view.Owner);
        WritePodSpec(w, job);
        w.WriteEndObject();
        w.WriteNumber("ttl_seconds_after_finished", job.TtlSecondsAfterFinished);
        w.WriteEndObject();
        WriteJobStatus(w, view);
        w.WriteEndObject();
    }

    private static void WriteJobStatus(Utf8JsonWriter w, JobView view)
    {
        var job = view.Job;
        var failedPods = view.Pods.Count(p => p.Phase == "Failed");
        w.WriteStartObject("status");
        var state = view.State;
        var (active, ready) = state switch
        {
            JobState.Pending => (1, 0),
            JobState.Running => (1, 1),
            _ => (0, 0),
        };
        WriteCount(w, "active", active);
        w.WriteNull("completed_indexes");
        if (state == JobState.Succeeded && view.CompletionTime is { } done)
            w.WriteString("completion_time", Time(done));
        else
            w.WriteNull("completion_time");
        var failed = state == JobState.Failed ? Math.Max(failedPods, 1) : failedPods;
        WriteJobConditions(w, view, failed);
        WriteCount(w, "failed", failed);
        w.WriteNull("failed_indexes");
        w.WriteNumber("ready", ready);
        w.WriteString("start_time", Time(job.Created));
        WriteCount(w, "succeeded", state == JobState.Succeeded ? 1 : 0);
        w.WriteNumber("terminating", 0);
        w.WriteStartObject("uncounted_terminated_pods");
        w.WriteNull("failed");
        w.WriteNull("succeeded");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteJobConditions(Utf8JsonWriter w, JobView view, int failed)
    {
        var job = view.Job;
        switch (view.State)
        {
            case JobState.Succeeded:
                w.WriteStartArray("conditions");
                WriteCondition(w, "Complete", "True", null, null, view.CompletionTime ?? job.Created);
                w.WriteEndArray();
                break;
            case JobState.Failed:
                w.WriteStartArray("conditions");
                WriteCondition(w, "Failed", "True", "BackoffLimitExceeded", job.Reason ?? "Job has reached the specified backoff limit",
                    view.FailedTime ?? job.Created);
                w.WriteEndArray();
                break;
            case JobState.Pending when job.Reason is { } waiting:
                // Waiting for the user's capacity: said where a person reads it (job show), in a condition's shape.
                w.WriteStartArray("conditions");
                WriteCondition(w, "Queued", "True", "WaitingForCapacity", waiting, job.Created);
                w.WriteEndArray();
                break;
            case JobState.Pending or JobState.Running when failed > 0:
                // An attempt failed and the job is retrying (or not yet marked failed): kbatch's table reads
                // conditions whenever failed > 0 and crashes on null (§0 item 5), so a list, empty.
                w.WriteStartArray("conditions");
                w.WriteEndArray();
                break;
            default:
                w.WriteNull("conditions");
                break;
        }
    }

    private static void WriteCondition(Utf8JsonWriter w, string type, string status, string? reason, string? message, DateTime at)
    {
        w.WriteStartObject();
        w.WriteString("last_probe_time", Time(at));
        w.WriteString("last_transition_time", Time(at));
        w.WriteString("message", message);
        w.WriteString("reason", reason);
        w.WriteString("status", status);
        w.WriteString("type", type);
        w.WriteEndObject();
    }

    public static void WritePod(Utf8JsonWriter w, JobView view, PodView pod)
    {
        var job = view.Job;
        w.WriteStartObject();
        w.WriteString("api_version", "v1");
        w.WriteString("kind", "Pod");
        WriteMetadata(w, pod.Pod.Name, job.Name + "-", pod.Pod.Uid, pod.Pod.Created, view.Owner, job);
        WritePodSpec(w, job);
        w.WriteStartObject("status");
        var resource = pod.Resource;
        w.WriteStartArray("conditions");
        if (resource is null)
        {
            w.WriteStartObject();
            w.WriteNull("last_probe_time");
            w.WriteString("last_transition_time", Time(pod.Pod.Created));
            w.WriteString("message", job.Reason ?? "waiting for capacity");
            w.WriteString("reason", "Unschedulable");
            w.WriteString("status", "False");
            w.WriteString("type", "PodScheduled");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("container_statuses");
        WriteContainerStatus(w, job, pod);
        w.WriteEndArray();
        w.WriteNull("init_container_statuses");
        w.WriteString("message", resource is null ? job.Reason : null);
        w.WriteString("phase", pod.Phase);
        w.WriteString("reason", resource is null ? "Unschedulable" : pod.Phase == "Failed" ? "Error" : null);
        if (resource?.Started is { } started)
            w.WriteString("start_time", Time(started));
        else
            w.WriteNull("start_time");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteContainerStatus(Utf8JsonWriter w, BatchJob job, PodView pod)
    {
        var resource = pod.Resource;
        w.WriteStartObject();
        w.WriteString("image", job.Image);
        w.WriteString("name", "job");
        w.WriteBoolean("ready", pod.Phase == "Running");
        w.WriteNumber("restart_count", 0);
        w.WriteBoolean("started", pod.Phase != "Pending");
        w.WriteStartObject("state");
        w.WritePropertyName("running");
        if (pod.Phase == "Running" && resource?.Started is { } started)
        {
            w.WriteStartObject();
            w.WriteString("started_at", Time(started));
            w.WriteEndObject();
        }
        else
            w.WriteNullValue();
        w.WritePropertyName("terminated");
        if (pod.IsFinished && resource is not null)
        {
            w.WriteStartObject();
            w.WriteNumber("exit_code", resource.ExitCode ?? -1);
            w.WriteString("finished_at", resource.Ended is { } ended ? Time(ended) : null);
            w.WriteString("message", resource.Reason);
            w.WriteString("reason", pod.Phase == "Succeeded" ? "Completed" : "Error");
            w.WriteString("started_at", resource.Started is { } s ? Time(s) : null);
            w.WriteEndObject();
        }
        else
            w.WriteNullValue();
        w.WritePropertyName("waiting");
        if (pod.Phase == "Pending")
        {
            w.WriteStartObject();
            w.WriteString("message", resource is null ? job.Reason : null);
            w.WriteString("reason", resource is null ? "Unschedulable" : "ContainerCreating");
            w.WriteEndObject();
        }
        else
            w.WriteNullValue();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteCronJob(Utf8JsonWriter w, CronJob cron, string owner, JobRequest template, IReadOnlyList<BatchJob> active)
    {
        w.WriteStartObject();
        w.WriteString("api_version", "batch/v1");
        w.WriteString("kind", "CronJob");
        WriteMetadata(w, cron.Name, cron.GenerateName, cron.Uid, cron.Created, owner, null, withUser: false);
        w.WriteStartObject("spec");
        w.WriteString("concurrency_policy", cron.ConcurrencyPolicy);
        w.WriteNumber("failed_jobs_history_limit", cron.FailedJobsHistoryLimit);
        w.WriteStartObject("job_template");
        w.WriteStartObject("metadata");
        WriteUserMaps(w, owner);
        w.WriteString("generate_name", template.GenerateName);
        w.WriteEndObject();
        w.WriteStartObject("spec");
        w.WriteNumber("backoff_limit", template.BackoffLimit);
        w.WriteStartObject("template");
        w.WriteStartObject("metadata");
        WriteUserMaps(w, owner);
        w.WriteEndObject();
        WritePodSpec(w, template, cron.HasCode);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("schedule", cron.Schedule);
        if (cron.StartingDeadlineSeconds is { } deadline)
            w.WriteNumber("starting_deadline_seconds", deadline);
        else
            w.WriteNull("starting_deadline_seconds");
        w.WriteNumber("successful_jobs_history_limit", cron.SuccessfulJobsHistoryLimit);
        w.WriteBoolean("suspend", cron.Suspend);
        w.WriteNull("time_zone");
        w.WriteEndObject();
        w.WriteStartObject("status");
        if (active.Count == 0)
            w.WriteNull("active");
        else
        {
            w.WriteStartArray("active");
            foreach (var job in active)
            {
                w.WriteStartObject();
                w.WriteString("api_version", "batch/v1");
                w.WriteString("kind", "Job");
                w.WriteString("name", job.Name);
                w.WriteString("namespace", KubeNames.Namespace(owner));
                w.WriteString("uid", job.Uid);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteString("last_schedule_time", cron.LastScheduleTime is { } scheduled ? Time(scheduled) : null);
        w.WriteString("last_successful_time", cron.LastSuccessfulTime is { } succeeded ? Time(succeeded) : null);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary><c>{api_version, items, kind, metadata}</c> around items written by <paramref name="writeItems"/>.</summary>
    public static void WriteList(Utf8JsonWriter w, string apiVersion, string kind, Action<Utf8JsonWriter> writeItems)
    {
        w.WriteStartObject();
        w.WriteString("api_version", apiVersion);
        w.WriteStartArray("items");
        writeItems(w);
        w.WriteEndArray();
        w.WriteString("kind", kind);
        w.WriteStartObject("metadata");
        w.WriteNull("_continue");
        w.WriteNull("remaining_item_count");
        w.WriteString("resource_version", "1");
        w.WriteNull("self_link");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>What a delete answers: a Kubernetes Status.</summary>
    public static void WriteDeleted(Utf8JsonWriter w, string name, string kind, string uid)
    {
        w.WriteStartObject();
        w.WriteString("api_version", "v1");
        w.WriteNull("code");
        w.WriteStartObject("details");
        w.WriteNull("causes");
        w.WriteString("group", "batch");
        w.WriteString("kind", kind);
        w.WriteString("name", name);
        w.WriteNull("retry_after_seconds");
        w.WriteString("uid", uid);
        w.WriteEndObject();
        w.WriteString("kind", "Status");
        w.WriteNull("message");
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteNull("reason");
        w.WriteString("status", "Success");
        w.WriteEndObject();
    }

    private static void WriteMetadata(Utf8JsonWriter w, string name, string generateName, string uid, DateTime created, string owner,
        BatchJob? podOf, bool withUser = true)
    {
        w.WriteStartObject("metadata");
        if (withUser)
            WriteUserMaps(w, owner, podOf);
        else
        {
            w.WriteStartObject("annotations");
            w.WriteEndObject();
            w.WriteStartObject("labels");
            w.WriteEndObject();
        }
        w.WriteString("creation_timestamp", Time(created));
        w.WriteNull("deletion_grace_period_seconds");
        w.WriteNull("deletion_timestamp");
        w.WriteNull("finalizers");
        w.WriteString("generate_name", generateName);
        w.WriteNumber("generation", 1);
        w.WriteNull("managed_fields");
        w.WriteString("name", name);
        w.WriteString("namespace", KubeNames.Namespace(owner));
        if (podOf is null)
            w.WriteNull("owner_references");
        else
        {
            w.WriteStartArray("owner_references");
            w.WriteStartObject();
            w.WriteString("api_version", "batch/v1");
            w.WriteBoolean("block_owner_deletion", true);
            w.WriteBoolean("controller", true);
            w.WriteString("kind", "Job");
            w.WriteString("name", podOf.Name);
            w.WriteString("uid", podOf.Uid);
            w.WriteEndObject();
            w.WriteEndArray();
        }
        w.WriteString("resource_version", "1");
        w.WriteNull("self_link");
        w.WriteString("uid", uid);
        w.WriteEndObject();
    }

    /// <summary>kbatch-proxy's username annotation and (escaped) label; pods also carry their job's labels.</summary>
    private static void WriteUserMaps(Utf8JsonWriter w, string owner, BatchJob? podOf = null)
    {
        w.WriteStartObject("annotations");
        w.WriteString(UserKey, owner);
        w.WriteEndObject();
        w.WriteStartObject("labels");
        if (podOf is not null)
        {
            w.WriteString("batch.kubernetes.io/controller-uid", podOf.Uid);
            w.WriteString("batch.kubernetes.io/job-name", podOf.Name);
            w.WriteString("controller-uid", podOf.Uid);
            w.WriteString("job-name", podOf.Name);
        }
        w.WriteString(UserKey, EscapeLabel(owner));
        w.WriteEndObject();
    }

    private static void WritePodTemplateMetadata(Utf8JsonWriter w, BatchJob job, string owner)
    {
        w.WriteStartObject("metadata");
        WriteUserMaps(w, owner);
        w.WriteString("name", job.GenerateName.TrimEnd('-') + "-pod");
        w.WriteEndObject();
    }

    private static void WritePodSpec(Utf8JsonWriter w, BatchJob job)
    {
        var env = JsonSerializer.Deserialize<List<EnvVar>>(job.EnvJson) ?? [];
        WritePodSpec(w, job.Image, Deserialize(job.CommandJson), Deserialize(job.ArgsJson), env.Select(e => e.Name), job.Cores, job.MemoryBytes,
            job.Name, job.HasCode);
    }

    private static void WritePodSpec(Utf8JsonWriter w, JobRequest template, bool hasCode) =>
        WritePodSpec(w, template.Image, template.Command, template.Args, template.Env.Select(e => e.Name), template.Cores, template.MemoryBytes,
            template.GenerateName.TrimEnd('-'), hasCode);

    private static void WritePodSpec(Utf8JsonWriter w, string image, IReadOnlyList<string>? command, IReadOnlyList<string>? args,
        IEnumerable<string> envNames, double? cores, long? memory, string secret, bool hasCode)
    {
        w.WriteStartObject("spec");
        w.WriteStartArray("containers");
        w.WriteStartObject();
        WriteStrings(w, "args", args);
        WriteStrings(w, "command", command);
        w.WriteStartArray("env");
        foreach (var name in envNames.Distinct())
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteNull("value");
            w.WriteStartObject("value_from");
            w.WriteStartObject("secret_key_ref");
            w.WriteString("key", name);
            w.WriteString("name", secret);
            w.WriteNull("optional");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("image", image);
        w.WriteString("name", "job");
        w.WriteStartObject("resources");
        foreach (var section in new[] { "limits", "requests" })
        {
            w.WriteStartObject(section);
            if (cores is { } c)
                w.WriteString("cpu", c.ToString(CultureInfo.InvariantCulture));
            if (memory is { } m)
                w.WriteString("memory", m.ToString(CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteString("working_dir", "/code");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("init_containers");
        w.WriteString("restart_policy", "Never");
        if (hasCode)
        {
            w.WriteStartArray("volumes");
            w.WriteStartObject();
            w.WriteString("name", "code-volume");
            w.WriteEndObject();
            w.WriteEndArray();
        }
        else
            w.WriteNull("volumes");
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var value in values)
            w.WriteStringValue(value);
        w.WriteEndArray();
    }

    private static List<string>? Deserialize(string? json) => json is null ? null : JsonSerializer.Deserialize<List<string>>(json);

    private static void WriteCount(Utf8JsonWriter w, string name, int count)
    {
        if (count == 0)
            w.WriteNull(name);
        else
            w.WriteNumber(name, count);
    }

    /// <summary>escapism, as kbatch-proxy labels users: <c>[a-z0-9]</c> kept, every other UTF-8 byte <c>-XX</c>.</summary>
    public static string EscapeLabel(string user)
    {
        var result = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(user))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9')
                result.Append((char)b);
            else
                result.Append('-').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return result.ToString();
    }
}
