using System.Text.Json;

namespace Orrery.Environments.Specs;

/// <summary>Checked specs are stored as JSON (they were validated once; reading them back needs no YAML).</summary>
public static class SpecJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Write(EnvironmentSpec spec) => JsonSerializer.Serialize(spec, Options);

    public static EnvironmentSpec Read(string json) =>
        JsonSerializer.Deserialize<EnvironmentSpec>(json, Options) ?? throw new JsonException("Empty environment spec.");
}
