using System.Text.Json;
using Orrery.Core.Environments;
using Orrery.Hub.Api;
using Orrery.Servers.Profiles;

namespace Orrery.Servers.Spawning;

/// <summary>
/// The environment a server run uses: <c>user_options.environment</c> (a name or id), else the profile's <c>Image</c>
/// when it names an environment, else the environment an admin made the profile's default; none = the host's.
/// </summary>
public static class ServerEnvironment
{
    public static async Task<EnvironmentInfo?> ChooseAsync(IEnvironments environments, long userId, JsonElement? userOptions, ServerProfile profile,
        CancellationToken cancellationToken)
    {
        if (userOptions is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("environment", out var value)
            && value.ValueKind != JsonValueKind.Null)
        {
            if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } reference)
                throw new HubApiException(400, "user_options 'environment' must be a string (an environment name or id)");
            var asked = await environments.FindAsync(userId, reference, cancellationToken);
            return asked.Environment ?? throw new HubApiException(400, asked.Error ?? $"There is no environment '{reference}'");
        }
        if (profile.Image.Length > 0)
        {
            var named = await environments.FindAsync(userId, profile.Image, cancellationToken);
            if (named.Error is { } error)
                throw new HubApiException(400, $"Profile '{profile.Slug}': {error}");
            return named.Environment;   // null: a plain container image
        }
        return await environments.DefaultForProfileAsync(profile.Slug, cancellationToken);
    }
}
