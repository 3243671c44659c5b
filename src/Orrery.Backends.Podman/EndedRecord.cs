using System.Text.Json;
using Orrery.Core.Compute;

namespace Orrery.Backends.Podman;

/// <summary>
/// How a container ended, kept in its resource directory (<c>ended.json</c>) so the container itself can be removed as
/// soon as its end is seen: podman's store does not fill up with exited servers and workers, and the end (exit code,
/// reason) and the log (conmon's file, also in that directory) stay readable until Orrery forgets the resource.
/// </summary>
internal static class EndedRecord
{
    private const string FileName = "ended.json";

    public static void Write(string directory, BackendObservation ended)
    {
        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(ended));
        File.Move(path + ".tmp", path, overwrite: true);   // a reader never sees half a record
    }

    public static void Delete(string directory) => File.Delete(Path.Combine(directory, FileName));

    public static BackendObservation? Read(string directory)
    {
        try
        {
            return JsonSerializer.Deserialize<BackendObservation>(File.ReadAllText(Path.Combine(directory, FileName)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
