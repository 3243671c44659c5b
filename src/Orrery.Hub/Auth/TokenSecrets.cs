using System.Security.Cryptography;
using System.Text;

namespace Orrery.Hub.Auth;

/// <summary>How token secrets are made and stored: 32 random bytes, kept only as their SHA-256.</summary>
public static class TokenSecrets
{
    /// <summary>A new secret: 32 random bytes as 64 lowercase hex characters.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// SHA-256 of the secret. Secrets are high-entropy, so a fast unsalted hash is safe and keeps the
    /// per-request cost to microseconds (JupyterHub's slow-hash path is what caps it at 170 req/s).
    /// </summary>
    public static byte[] Hash(string secret)
    {
        Span<byte> utf8 = secret.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(secret.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(secret.Length)];
        var length = Encoding.UTF8.GetBytes(secret, utf8);
        return SHA256.HashData(utf8[..length]);
    }

    /// <summary>Token id as the API shows it: "a" + number (JupyterHub's API-token prefix).</summary>
    public static string PublicId(long id) => "a" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static long? ParsePublicId(string id) =>
        id.Length > 1 && id[0] == 'a' && long.TryParse(id.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n : null;
}
