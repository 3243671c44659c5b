using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Orrery.Environments.Specs;

/// <summary>
/// What identifies an environment's content: the SHA-256 of everything that changes the artifact — base, packages,
/// variables and every file of every local library (path, executable bit, bytes) — but not its name or welcome
/// text. Same content, same id: the build is skipped and the artifact shared.
/// </summary>
public static class ContentId
{
    public const string Prefix = "env-";

    public static string Compute(EnvironmentSpec spec, string bundleDirectory)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var described = new
        {
            kind = spec.Kind,
            @base = spec.Base,
            channels = spec.Channels,
            conda = spec.CondaPackages,
            pip = spec.PipPackages,
            apt = spec.AptPackages,
            variables = spec.Variables.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => new[] { v.Key, v.Value }),
            libraries = spec.Libraries,
        };
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(described));
        foreach (var library in spec.Libraries)
        {
            var root = Path.Combine(bundleDirectory, library);
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(bundleDirectory, file);
                var executable = (File.GetUnixFileMode(file) & UnixFileMode.UserExecute) != 0;
                hash.AppendData(Encoding.UTF8.GetBytes($"\n{relative}\0{(executable ? 'x' : '-')}\0"));
                using var stream = File.OpenRead(file);
                hash.AppendData(SHA256.HashData(stream));
            }
        }
        return Prefix + Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    public static bool Looks(string reference) =>
        reference.Length == Prefix.Length + 16 && reference.StartsWith(Prefix, StringComparison.Ordinal)
        && !reference.AsSpan(Prefix.Length).ContainsAnyExcept("0123456789abcdef");
}
