using System.Text.Json;
using Orrery.Environments.Specs;
using Orrery.Storage.Entities;

namespace Orrery.Environments.Api;

/// <summary>An environment as the API shows it (snake_case, like the hub's own API).</summary>
public static class EnvironmentJson
{
    /// <param name="build">The build's compute resource (its lifecycle state is shown), when it still exists.</param>
    public static void Write(Utf8JsonWriter w, SoftwareEnvironment e, string owner, ComputeResource? build, bool? cacheHit = null)
    {
        var spec = SpecJson.Read(e.SpecJson);
        w.WriteStartObject();
        w.WriteString("id", e.ContentId);
        w.WriteString("name", e.Name);
        w.WriteString("owner", owner);
        w.WriteString("kind", e.Kind);
        w.WriteString("base", spec.Base);
        w.WriteString("state", e.State.ToString().ToLowerInvariant());
        if (cacheHit is { } hit)
            w.WriteBoolean("cache_hit", hit);
        w.WriteString("shared_with_group", e.SharedWithGroup);
        w.WriteString("default_for_profile", e.DefaultForProfile);
        w.WriteString("welcome", spec.Welcome);
        w.WriteString("created", e.Created);
        if (e.Built is { } built)
            w.WriteString("built", built);
        else
            w.WriteNull("built");
        w.WritePropertyName("build");
        if (build is null)
            w.WriteNullValue();
        else
        {
            w.WriteStartObject();
            w.WriteString("id", build.Id);
            w.WriteString("state", build.State.ToString().ToLowerInvariant());
            w.WriteEndObject();
        }
        w.WriteString("failed_step", e.FailedStep);
        w.WriteString("reason", e.Reason);
        w.WritePropertyName("versions");
        w.WriteRawValue(e.VersionsJson);
        w.WritePropertyName("packages");
        w.WriteRawValue(e.PackagesJson);
        w.WritePropertyName("spec");
        JsonSerializer.Serialize(w, new
        {
            channels = spec.Channels, conda = spec.CondaPackages, pip = spec.PipPackages, apt = spec.AptPackages,
            libraries = spec.Libraries, variables = spec.Variables,
        });
        w.WriteEndObject();
    }
}
