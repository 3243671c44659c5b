using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orrery.Backends.Local;

/// <summary>
/// What <see cref="Core.Compute.BackendHandle.Value"/> holds for a local resource, as JSON:
/// <c>{"pid":1234,"startTime":567890,"dir":"/data/run/res-1"}</c>. Pid plus start time identify the process
/// even after the pid is reused; the directory holds its log and exit status.
/// </summary>
/// <param name="Pid">Pid of the wrapper shell, which is also the session and process group id.</param>
/// <param name="StartTime">Field 22 of /proc/&lt;pid&gt;/stat; 0 when the process had already ended at launch.</param>
/// <param name="Dir">Absolute per-resource directory.</param>
internal sealed record LocalHandle(int Pid, ulong StartTime, string Dir)
{
    public const string LogFileName = "output.log";
    public const string ExitFileName = "exit-status";

    [JsonIgnore]
    public string LogPath => Path.Combine(Dir, LogFileName);

    [JsonIgnore]
    public string ExitPath => Path.Combine(Dir, ExitFileName);

    public string ToValue() => JsonSerializer.Serialize(this, LocalHandleJson.Default.LocalHandle);

    /// <summary>Parses a handle value; null for anything malformed or unsafe (a pid ≤ 1 would turn a group kill into a disaster).</summary>
    public static LocalHandle? TryParse(string value)
    {
        LocalHandle? handle;
        try
        {
            handle = JsonSerializer.Deserialize(value, LocalHandleJson.Default.LocalHandle);
        }
        catch (JsonException)
        {
            return null;
        }

        return handle is { Pid: > 1, Dir: not null } && Path.IsPathFullyQualified(handle.Dir) ? handle : null;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LocalHandle))]
internal sealed partial class LocalHandleJson : JsonSerializerContext;
