using System.Text.Json;

namespace Orrery.Backends.Podman;

/// <summary>What finds a container again after a restart: its full id and the resource's directory (its log).</summary>
internal sealed record PodmanHandle(string ContainerId, string Dir)
{
    public const string LogFileName = "container.log";

    public string LogPath => Path.Combine(Dir, LogFileName);

    public string Serialize() => JsonSerializer.Serialize(this);

    /// <summary>Null for anything that is not a handle this backend wrote (the value comes from stored data).</summary>
    public static PodmanHandle? TryParse(string value)
    {
        try
        {
            return JsonSerializer.Deserialize<PodmanHandle>(value) is { ContainerId.Length: > 0, Dir.Length: > 0 } handle
                   && handle.ContainerId.All(char.IsAsciiHexDigit) && Path.IsPathFullyQualified(handle.Dir)
                ? handle
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
