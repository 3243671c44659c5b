namespace Orrery.Server;

/// <summary>The data directory: created on first start, private to the server's user (0700).</summary>
internal static class DataDirectory
{
    public static string Prepare(string? configured)
    {
        var path = Path.GetFullPath(string.IsNullOrWhiteSpace(configured) ? Path.Combine(Environment.CurrentDirectory, ".data") : configured);
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
