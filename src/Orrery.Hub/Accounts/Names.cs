using System.Text.RegularExpressions;

namespace Orrery.Hub.Accounts;

/// <summary>
/// Which user and group names are accepted. Names end up in URLs (/user/&lt;name&gt;/), file paths (homes) and
/// scope filters, so only a conservative set is allowed: lowercase letters, digits and . _ @ - , starting with a
/// letter or digit, at most 64 characters.
/// </summary>
public static partial class Names
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._@-]{0,63}$")]
    private static partial Regex Valid();

    public static bool IsValid(string? name) => name is not null && Valid().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    public const string Rule = "names are 1–64 characters of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit";
}
