using System.Text.RegularExpressions;

namespace Orrery.Hub.Api;

/// <summary>
/// The names JupyterHub derives from a user and server name (protocol notes §2.2, §2.5, §4.5): URL prefix, OAuth
/// client id and callback, access scope. The default server's name is "".
/// </summary>
public readonly partial record struct ServerIdentity(string User, string Server, string BaseUrl)
{
    /// <summary><c>/user/alice/</c> or <c>/user/alice/gpu/</c> (under the base URL).</summary>
    public string Prefix => Server.Length == 0 ? $"{BaseUrl}user/{Quote(User)}/" : $"{BaseUrl}user/{Quote(User)}/{Quote(Server)}/";

    public string ClientId => Server.Length == 0 ? $"jupyterhub-user-{Quote(User)}" : $"jupyterhub-user-{Quote(User)}-{Quote(Server)}";

    public string CallbackUrl => Prefix + "oauth_callback";

    public string AccessScope => $"access:servers!server={User}/{Server}";

    /// <summary>The scopes that let a caller through to this server (<c>JUPYTERHUB_OAUTH_ACCESS_SCOPES</c>).</summary>
    public string[] AccessScopes => [AccessScope, $"access:servers!user={User}"];

    /// <summary>As JupyterHub names a spawner in messages: <c>alice</c> or <c>alice:gpu</c>.</summary>
    public string LogName => Server.Length == 0 ? User : $"{User}:{Server}";

    public string ApiPath => Server.Length == 0
        ? $"{BaseUrl}hub/api/users/{Quote(User)}/server"
        : $"{BaseUrl}hub/api/users/{Quote(User)}/servers/{Quote(Server)}";

    public string ProgressUrl => ApiPath + "/progress";

    public string Description => $"Server at {Prefix}";

    /// <summary>Server names become URL segments and cookie names, so they follow the user-name rule.</summary>
    public static string? CheckServerName(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
            return $"Invalid server_name (may not contain '/'): {name}";
        return name.Length == 0 || ServerNamePattern().IsMatch(name) ? null
            : $"Invalid server_name '{name}': use 1–64 lowercase letters, digits, '.', '_', '@' or '-', starting with a letter or digit";
    }

    private static string Quote(string value) => Uri.EscapeDataString(value).Replace("%40", "@", StringComparison.Ordinal);

    [GeneratedRegex("^[a-z0-9][a-z0-9._@-]{0,63}$")]
    private static partial Regex ServerNamePattern();
}
