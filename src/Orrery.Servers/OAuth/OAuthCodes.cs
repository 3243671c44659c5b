using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Orrery.Hub.Auth;

namespace Orrery.Servers.OAuth;

/// <summary>What an authorization code stands for: who authorized which server run, for which redirect, in which login.</summary>
public sealed record OAuthGrant(
    long UserId, long ServerId, long SecretTokenId, string RedirectUri, string? SessionId, DateTime ExpiresAt);

/// <summary>
/// Authorization codes (protocol notes §2.5): 30 random letters and digits, single use, valid
/// <see cref="OAuthOptions.CodeLifetime"/>. They live in memory only, keyed by their SHA-256, so a code is never
/// stored and a restart just makes the browser go through the (instant) authorization again. Expired codes are
/// purged as new ones are issued, and a user's pending codes are capped so a loop cannot fill memory.
/// </summary>
public sealed class OAuthCodes(TimeProvider time, IOptions<OAuthOptions> options)
{
    public const int Length = 30;
    /// <summary>Most unused codes one user may have; issuing another drops that user's oldest.</summary>
    public const int MaxPendingPerUser = 100;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, OAuthGrant> _grants = new(StringComparer.Ordinal);
    private readonly Dictionary<long, List<string>> _byUser = [];
    private DateTime _nextPurge = DateTime.MinValue;

    /// <summary>Unused codes held, expired ones included until the next purge.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _grants.Count;
        }
    }

    public string Issue(long userId, OAuthClient client, string? sessionId)
    {
        var code = RandomNumberGenerator.GetString(Alphabet, Length);
        var key = Key(code);
        var now = time.GetUtcNow().UtcDateTime;
        var grant = new OAuthGrant(userId, client.ServerId, client.SecretTokenId, client.RedirectUri, sessionId, now + options.Value.CodeLifetime);
        lock (_lock)
        {
            if (now >= _nextPurge)
            {
                Purge(now);
                _nextPurge = now + PurgeInterval;
            }
            if (!_byUser.TryGetValue(userId, out var keys))
                _byUser[userId] = keys = [];
            if (keys.Count >= MaxPendingPerUser)
            {
                _grants.Remove(keys[0]);
                keys.RemoveAt(0);
            }
            keys.Add(key);
            _grants[key] = grant;
        }
        return code;
    }

    /// <summary>Uses up <paramref name="code"/>: its grant if it was issued and has not expired, else null. Either way it is gone.</summary>
    public OAuthGrant? Take(string code)
    {
        if (code.Length != Length)
            return null;
        var key = Key(code);
        var now = time.GetUtcNow().UtcDateTime;
        lock (_lock)
        {
            if (!_grants.Remove(key, out var grant))
                return null;
            Forget(grant.UserId, key);
            return grant.ExpiresAt > now ? grant : null;
        }
    }

    private static string Key(string code) => Convert.ToHexString(TokenSecrets.Hash(code));

    private void Purge(DateTime now)
    {
        foreach (var (key, grant) in _grants)
        {
            if (grant.ExpiresAt > now)
                continue;
            _grants.Remove(key);
            Forget(grant.UserId, key);
        }
    }

    private void Forget(long userId, string key)
    {
        if (!_byUser.TryGetValue(userId, out var keys))
            return;
        keys.Remove(key);
        if (keys.Count == 0)
            _byUser.Remove(userId);
    }
}
