using System.Text.Json;
using Microsoft.Extensions.Options;
using Orrery.Compute;

namespace Orrery.Servers.Profiles;

/// <summary>
/// The configured profiles, checked once at start, and the choice of one for a start request from its
/// <c>user_options</c> (<c>{"profile": "&lt;slug&gt;"}</c>; no body or an empty slug means the default profile,
/// unknown extra keys are ignored, as KubeSpawner does).
/// </summary>
public sealed class ProfileCatalog
{
    /// <summary>Used when no profile is configured: Debian's jupyterhub-singleuser (notebook 6).</summary>
    public static ServerProfile BuiltIn => new()
    {
        DisplayName = "Jupyter Notebook",
        Slug = "jupyter",
        Description = "A Jupyter notebook server (jupyterhub-singleuser) with the host's Python.",
        // --allow-root: harmless for other users, needed when Orrery itself runs as root (the one-command setup).
        Command = ["jupyterhub-singleuser", "--allow-root"],
        Default = true,
        IdleTimeout = TimeSpan.FromHours(1),
    };

    public ProfileCatalog(IOptions<ServersOptions> options, ComputeBackends? backends = null)
    {
        var configured = options.Value.Profiles;
        All = configured.Count == 0 ? [BuiltIn] : configured;
        var problems = Check(All).ToList();
        if (backends is not null)
            problems.AddRange(All.Select((p, i) => (p, i)).Where(x => x.p.Backend.Length > 0 && backends.Find(x.p.Backend) is null)
                .Select(x => $"{ServersOptions.SectionName}:Profiles:{x.i}:Backend: unknown compute backend '{x.p.Backend}'; this Orrery has: {string.Join(", ", backends.Names)}."));
        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join(" ", problems));
    }

    public IReadOnlyList<ServerProfile> All { get; }

    public IEnumerable<ServerProfile> ForGroups(IReadOnlyCollection<string> groups) => All.Where(p => p.AllowsGroups(groups));

    public ServerProfile? Find(string slug) => All.FirstOrDefault(p => p.Slug == slug);

    /// <summary>The profile a start request asks for, or the message of a 400 naming what is wrong.</summary>
    public (ServerProfile? Profile, string? Error) Choose(JsonElement? userOptions, string userName, IReadOnlyCollection<string> groups)
    {
        var slug = "";
        if (userOptions is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("profile", out var value))
        {
            if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                return (null, "user_options 'profile' must be a string (a profile slug)");
            slug = value.GetString() ?? "";
        }
        else if (userOptions is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            return (null, "user_options must be a JSON object, e.g. {\"profile\": \"<slug>\"}");

        var allowed = ForGroups(groups).ToList();
        if (slug.Length == 0)
        {
            var chosen = allowed.FirstOrDefault(p => p.Default) ?? allowed.FirstOrDefault();
            return chosen is null ? (null, $"No profile is available to user {userName}") : (chosen, null);
        }
        var profile = Find(slug);
        if (profile is null)
            return (null, $"Unknown profile '{slug}'; choose one of: {string.Join(", ", allowed.Select(p => p.Slug))}");
        if (!allowed.Contains(profile))
            return (null, $"Profile '{slug}' is not available to user {userName} (it is for groups: {string.Join(", ", profile.AllowedGroups)})");
        return (profile, null);
    }

    private static IEnumerable<string> Check(IReadOnlyList<ServerProfile> profiles)
    {
        const string section = ServersOptions.SectionName + ":Profiles";
        for (var i = 0; i < profiles.Count; i++)
        {
            var p = profiles[i];
            var at = $"{section}:{i}";
            if (string.IsNullOrWhiteSpace(p.Slug) || !System.Text.RegularExpressions.Regex.IsMatch(p.Slug, "^[a-z0-9][a-z0-9_-]{0,63}$"))
                yield return $"{at}:Slug must be 1–64 lowercase letters, digits, '-' or '_', got '{p.Slug}'.";
            if (string.IsNullOrWhiteSpace(p.DisplayName))
                p.DisplayName = p.Slug;
            if (p.Command.Count == 0 || string.IsNullOrWhiteSpace(p.Command[0]))
                yield return $"{at}:Command must name a program.";
            if (p.CpuLimit is <= 0)
                yield return $"{at}:CpuLimit must be positive, got {p.CpuLimit}.";
            string? sizeError = null;
            try
            {
                _ = p.MemoryLimitBytes;
            }
            catch (FormatException e)
            {
                sizeError = $"{at}:MemoryLimit: {e.Message}.";
            }
            if (sizeError is not null)
                yield return sizeError;
            if (p.IdleTimeout < TimeSpan.Zero || p.MaxAge < TimeSpan.Zero)
                yield return $"{at}: IdleTimeout and MaxAge must not be negative.";
        }
        foreach (var duplicate in profiles.GroupBy(p => p.Slug).Where(g => g.Count() > 1))
            yield return $"{section}: the slug '{duplicate.Key}' is used by {duplicate.Count()} profiles.";
        if (profiles.Count(p => p.Default) > 1)
            yield return $"{section}: more than one profile is marked Default.";
    }
}
