using Microsoft.Extensions.Logging;

namespace Orrery.Servers.OAuth;

/// <summary>OAuth provider log messages; event ids 5090–5099 of the servers module's range.</summary>
internal static partial class OAuthLog
{
    [LoggerMessage(5090, LogLevel.Information, "OAuth: {User} authorized {Client}")]
    public static partial void Authorized(this ILogger logger, string user, string client);

    [LoggerMessage(5091, LogLevel.Information, "OAuth: token issued to {User} for {Client}")]
    public static partial void TokenIssued(this ILogger logger, string user, string client);

    [LoggerMessage(5092, LogLevel.Warning, "OAuth: client authentication failed for {Client} from {Address}")]
    public static partial void ClientAuthenticationFailed(this ILogger logger, string client, string? address);

    [LoggerMessage(5093, LogLevel.Information, "OAuth: {User} may not access {Client}")]
    public static partial void AccessRefused(this ILogger logger, string user, string client);
}
