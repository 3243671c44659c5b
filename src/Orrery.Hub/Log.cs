using Microsoft.Extensions.Logging;

namespace Orrery.Hub;

/// <summary>Hub log messages; event ids 1000–1099. Tokens are logged by id, never by value.</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Warning, "Created admin user {User}. Password: {Password}  (shown once; an admin can set another with PATCH hub/api/users/{User} and a \"password\" field)")]
    public static partial void AdminCreated(this ILogger logger, string user, string password);

    [LoggerMessage(1001, LogLevel.Warning, "API token for {User} (id a{TokenId}): {Token}  (shown once)")]
    public static partial void BootstrapToken(this ILogger logger, string user, long tokenId, string token);

    [LoggerMessage(1002, LogLevel.Information, "ORRERY_ADMIN_TOKEN is a valid token of {User} (id a{TokenId})")]
    public static partial void EnvTokenInstalled(this ILogger logger, string user, long tokenId);

    [LoggerMessage(1003, LogLevel.Information, "User {User} logged in")]
    public static partial void LoggedIn(this ILogger logger, string user);

    [LoggerMessage(1004, LogLevel.Warning, "Failed login for {User} from {Address}")]
    public static partial void LoginFailed(this ILogger logger, string user, string? address);

    [LoggerMessage(1005, LogLevel.Information, "Token a{TokenId} of {User} created by {Caller}")]
    public static partial void TokenCreated(this ILogger logger, long tokenId, string user, string caller);

    [LoggerMessage(1006, LogLevel.Information, "Token a{TokenId} of {User} revoked by {Caller}")]
    public static partial void TokenRevoked(this ILogger logger, long tokenId, string user, string caller);

    [LoggerMessage(1007, LogLevel.Warning, "Deprecated GET hub/api/authorizations/token used by {Caller}")]
    public static partial void DeprecatedTokenLookup(this ILogger logger, string caller);

    [LoggerMessage(1008, LogLevel.Error, "Writing activity failed")]
    public static partial void ActivityFlushFailed(this ILogger logger, Exception exception);

    [LoggerMessage(1009, LogLevel.Warning, "{Method} {Path} lost a race with a concurrent change; answered {Status}")]
    public static partial void ConcurrentChange(this ILogger logger, string method, string path, int status, Exception exception);
}
