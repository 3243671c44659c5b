using System.Globalization;
using System.Text.Json;
using Orrery.Core.Compute;

namespace Orrery.Backends.Podman;

/// <summary>Reads <c>podman container inspect</c>'s JSON (State, the memory limit, the time limit) into an observation.</summary>
internal static class PodmanInspect
{
    public static BackendObservation Observe(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var container = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().FirstOrDefault() : root;
        if (container.ValueKind != JsonValueKind.Object || !container.TryGetProperty("State", out var state))
            return new BackendObservation(BackendState.Lost, null, "podman inspect described no container");
        var status = String(state, "Status")?.ToLowerInvariant() ?? "";
        return status switch
        {
            "created" or "configured" or "initialized" => BackendObservation.Queued,
            "running" or "paused" or "stopping" or "restarting" => BackendObservation.Running,
            "exited" or "stopped" or "removing" => Ended(container, state),
            _ => new BackendObservation(BackendState.Lost, null, $"podman reports the container as '{status}'"),
        };
    }

    private static BackendObservation Ended(JsonElement container, JsonElement state)
    {
        var exit = state.TryGetProperty("ExitCode", out var code) && code.TryGetInt32(out var value) ? value : (int?)null;
        var podmanError = String(state, "Error") is { Length: > 0 } e ? $"podman: {e}" : null;
        var error = podmanError is null ? "" : $" ({podmanError})";
        var memory = Number(container, "HostConfig", "Memory");
        if (state.TryGetProperty("OOMKilled", out var oom) && oom.ValueKind == JsonValueKind.True)
            return new BackendObservation(BackendState.Exited, exit is null or 0 ? 137 : exit,
                $"OOMKilled: the container used more than its memory limit{Limit(memory)}{error}");
        // conmon kills a container at its --timeout and records no exit status for it (-1).
        var timeout = Number(container, "Config", "Timeout");
        if (timeout > 0 && exit is -1 or 137 && RanFor(state) is { } ran && ran.TotalSeconds >= timeout - 1)
            return new BackendObservation(BackendState.Exited, 137, $"killed after reaching its time limit of {timeout} s{error}");
        // Where conmon cannot see the cgroup's OOM events (cgroup v1 on some kernels), an OOM kill is only a SIGKILL.
        if (exit == 137 && memory > 0)
            return new BackendObservation(BackendState.Exited, 137,
                $"killed by SIGKILL under a memory limit{Limit(memory)}: most likely out of memory (podman did not report an OOM kill){error}");
        if (exit is null or < 0)
            return new BackendObservation(BackendState.Lost, null, $"the container ended without an exit status{error}");
        return new BackendObservation(BackendState.Exited, exit, podmanError);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long Number(JsonElement element, string section, string name) =>
        element.TryGetProperty(section, out var part) && part.ValueKind == JsonValueKind.Object
        && part.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : 0;

    private static string Limit(long bytes) =>
        bytes > 0 ? $" of {(bytes / 1048576.0).ToString("0.#", CultureInfo.InvariantCulture)} MiB" : "";

    private static TimeSpan? RanFor(JsonElement state) =>
        DateTimeOffset.TryParse(String(state, "StartedAt"), CultureInfo.InvariantCulture, DateTimeStyles.None, out var started)
        && DateTimeOffset.TryParse(String(state, "FinishedAt"), CultureInfo.InvariantCulture, DateTimeStyles.None, out var finished)
            ? finished - started : null;
}
