using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Servers.Homes;

/// <summary>
/// Persistent homes: one directory per user (mode 0700) under <see cref="ServersOptions.HomeRoot"/>, shared by the
/// user's servers and kept across stops and Orrery restarts. The quota is enforced when a server starts: a home
/// over its quota is measured, shown, and the start refused until files are deleted (the local backend has no
/// per-directory filesystem limit to lean on).
/// </summary>
public sealed class HomeDirectories(IOptions<ServersOptions> options, IOptions<OrreryOptions> orrery, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (long Bytes, DateTime MeasuredAt)> _usage = new(StringComparer.Ordinal);

    public string Root => string.IsNullOrEmpty(options.Value.HomeRoot) ? Path.Combine(orrery.Value.DataDir, "homes") : options.Value.HomeRoot;

    public long? QuotaBytes => options.Value.HomeQuotaBytes;

    public string PathOf(string userName) => Path.Combine(Root, userName);

    /// <summary>Creates the home if needed and makes sure only its owner (the server process) can enter it.</summary>
    public string Ensure(string userName)
    {
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var home = PathOf(userName);
        Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return home;
    }

    /// <summary>Bytes in the user's home (files only, symlinks not followed), measured at most once per cache lifetime.</summary>
    public long Usage(string userName, bool fresh = false)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (!fresh && _usage.TryGetValue(userName, out var cached) && now - cached.MeasuredAt < options.Value.HomeUsageCacheLifetime)
            return cached.Bytes;
        var bytes = Measure(PathOf(userName));
        _usage[userName] = (bytes, now);
        return bytes;
    }

    /// <summary>The message of a refused start when the home is over its quota, else null.</summary>
    public string? OverQuota(string userName)
    {
        if (QuotaBytes is not { } quota)
            return null;
        var used = Usage(userName, fresh: true);
        return used <= quota ? null
            : $"The home directory of {userName} holds {ByteSizes.Format(used)}, over its quota of {ByteSizes.Format(quota)}; "
              + "delete files from it before starting a server";
    }

    private static long Measure(string directory)
    {
        if (!Directory.Exists(directory))
            return 0;
        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", walk))
            total += file.Length;
        return total;
    }
}
