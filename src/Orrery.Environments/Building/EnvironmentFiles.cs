namespace Orrery.Environments.Building;

/// <summary>
/// Where an environment's files live, by content id: <c>&lt;Root&gt;/&lt;id&gt;/</c> holds the uploaded bundle
/// (<c>src/</c>), the generated build script (and Containerfile), the virtual environment (<c>venv/</c>) and the
/// manifest the build wrote.
/// </summary>
public sealed class EnvironmentFiles(string root)
{
    public string Root { get; } = root;

    public string Directory(string contentId) => Path.Combine(Root, contentId);

    public string Source(string contentId) => Path.Combine(Directory(contentId), "src");

    public string Venv(string contentId) => Path.Combine(Directory(contentId), "venv");

    public string Manifest(string contentId) => Path.Combine(Directory(contentId), "manifest.json");

    public string Script(string contentId) => Path.Combine(Directory(contentId), "build.sh");

    /// <summary>A fresh scratch directory for an upload being checked, before its content id is known.</summary>
    public string NewIncoming() => Path.Combine(Root, ".incoming", Guid.NewGuid().ToString("N"));

    public static void Create(string directory) =>
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
}
