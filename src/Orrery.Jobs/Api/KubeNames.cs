using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Orrery.Jobs.Api;

/// <summary>Kubernetes naming as kbatch users see it: generated names, DNS-1123 labels, per-user namespaces.</summary>
public static partial class KubeNames
{
    private const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary><c>generateName</c> (cut to 58 characters) plus 5 random characters, as the API server does.</summary>
    public static string Generate(string generateName)
    {
        var prefix = generateName.Length > 58 ? generateName[..58] : generateName;
        var suffix = new char[5];
        for (var i = 0; i < suffix.Length; i++)
            suffix[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        return prefix + new string(suffix);
    }

    /// <summary>Null when valid, else Kubernetes' complaint.</summary>
    public static string? CheckName(string name) => Dns1123().IsMatch(name) && name.Length <= 63 ? null
        : $"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
          + "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc'), at most 63 characters";

    /// <summary>kbatch-proxy's per-user namespace (its §4.3 algorithm), shown in metadata.namespace.</summary>
    public static string Namespace(string user)
    {
        var safe = NotAlphanumeric().Replace(user.ToLowerInvariant(), "-");
        safe = (safe.Length > 40 ? safe[..40] : safe).Trim('-');
        if (safe != user)
            safe += "--" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)))[..7];
        return "kbatch-" + safe;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NotAlphanumeric();
}
