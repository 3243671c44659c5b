using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orrery.Hub.Api;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// The cluster options a user sees (`GET api/v1/options`) and the validation of what they send at creation,
/// in dask-gateway's field vocabulary: int, float, string, bool, select, mapping. Group overrides change
/// defaults and bounds per user.
/// </summary>
public sealed class ClusterOptionsSpec
{
    public static readonly IReadOnlyList<OptionField> DefaultFields =
    [
        new() { Field = "worker_cores", Label = "Worker Cores", Type = "int", Default = "1", Min = 1, Max = 4 },
        new() { Field = "worker_threads", Label = "Worker Threads", Type = "int", Default = "1", Min = 1, Max = 16 },
        new() { Field = "worker_memory", Label = "Worker Memory (GiB)", Type = "float", Default = "1", Min = 0.25, Max = 16 },
        new() { Field = "image", Label = "Environment", Type = "string", Default = "" },
        new() { Field = "environment", Label = "Environment Variables", Type = "mapping", Default = "{}" },
        new() { Field = "idle_timeout", Label = "Idle Timeout (seconds, 0 = never)", Type = "float", Default = "1800", Min = 0, Max = 604800 },
    ];

    private readonly List<(OptionField Field, JsonNode? Default)> _fields;

    private ClusterOptionsSpec(List<(OptionField, JsonNode?)> fields) => _fields = fields;

    /// <summary>The fields for a user in <paramref name="groups"/>; fails at start-up on a malformed configuration.</summary>
    public static ClusterOptionsSpec For(GatewayOptions options, IReadOnlyCollection<string> groups)
    {
        var declared = options.ClusterOptions.Count > 0 ? options.ClusterOptions : DefaultFields;
        var fields = new List<(OptionField, JsonNode?)>();
        foreach (var declaredField in declared)
        {
            var field = declaredField;
            var change = groups.Order(StringComparer.Ordinal)
                .Select(g => options.GroupOverrides.GetValueOrDefault(g)?.GetValueOrDefault(field.Field)).FirstOrDefault(o => o is not null);
            if (change is not null)
                field = new OptionField
                {
                    Field = field.Field, Label = field.Label, Type = field.Type, Options = field.Options,
                    Default = change.Default ?? field.Default, Min = change.Min ?? field.Min, Max = change.Max ?? field.Max,
                };
            fields.Add((field, ParseDefault(field)));
        }
        return new ClusterOptionsSpec(fields);
    }

    /// <summary>Checks a configuration once, naming the first bad field.</summary>
    public static void CheckConfiguration(GatewayOptions options)
    {
        For(options, []);
        foreach (var group in options.GroupOverrides.Keys)
            For(options, [group]);
    }

    public void WriteSpec(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("cluster_options");
        foreach (var (field, defaultValue) in _fields)
        {
            w.WriteStartObject();
            w.WriteString("field", field.Field);
            w.WriteString("label", field.Label ?? field.Field);
            w.WritePropertyName("default");
            if (defaultValue is null) w.WriteNullValue(); else defaultValue.WriteTo(w);
            w.WriteStartObject("spec");
            w.WriteString("type", field.Type);
            if (field.Type is "int" or "float")
            {
                WriteBound(w, "min", field.Min, field.Type);
                WriteBound(w, "max", field.Max, field.Type);
            }
            if (field.Type == "select")
                w.WriteStrings("options", field.Options);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Validates user options: unknown fields and bad values are errors naming the field; missing fields take defaults.</summary>
    public (JsonObject? Options, string? Error) Validate(JsonObject? requested)
    {
        requested ??= [];
        // Sorted, as upstream lists them.
        var unknown = requested.Select(p => p.Key).Where(k => _fields.All(f => f.Field.Field != k)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            return (null, $"Unknown fields [{string.Join(", ", unknown.Select(u => $"'{u}'"))}]");
        var result = new JsonObject();
        foreach (var (field, defaultValue) in _fields)
        {
            var value = requested.TryGetPropertyValue(field.Field, out var given) ? given : defaultValue?.DeepClone();
            var error = Check(field, value);
            if (error is not null)
                return (null, error);
            result[field.Field] = value?.DeepClone();
        }
        return (result, null);
    }

    private static string? Check(OptionField field, JsonNode? value)
    {
        var name = field.Field;
        var kind = value?.GetValueKind();
        switch (field.Type)
        {
            case "int":
                if (kind != JsonValueKind.Number || !value!.AsValue().TryGetValue<long>(out var integer))
                    return $"{name} must be an integer, got {Show(value)}";
                return CheckBounds(field, integer, value);
            case "float":
                if (kind != JsonValueKind.Number)
                    return $"{name} must be a number, got {Show(value)}";
                return CheckBounds(field, value!.GetValue<double>(), value);
            case "string":
                return kind == JsonValueKind.String ? null : $"{name} must be a string, got {Show(value)}";
            case "bool":
                return kind is JsonValueKind.True or JsonValueKind.False ? null : $"{name} must be a bool, got {Show(value)}";
            case "select":
                return kind == JsonValueKind.String && field.Options.Contains(value!.GetValue<string>())
                    ? null : $"{Show(value)} is not a valid option for {name}";
            case "mapping":
                if (kind != JsonValueKind.Object)
                    return $"{name} must be a mapping, got {Show(value)}";
                return value!.AsObject().All(p => p.Value?.GetValueKind() == JsonValueKind.String)
                    ? null : $"{name} values must be strings";
            default:
                return $"{name} has an unknown type {field.Type}";
        }
    }

    private static string? CheckBounds(OptionField field, double number, JsonNode value)
    {
        if (field.Min is { } min && number < min)
            return $"{field.Field} must be >= {min.ToString("F6", CultureInfo.InvariantCulture)}, got {value.ToJsonString()}";
        if (field.Max is { } max && number > max)
            return $"{field.Field} must be <= {max.ToString("F6", CultureInfo.InvariantCulture)}, got {value.ToJsonString()}";
        return null;
    }

    private static string Show(JsonNode? value) => value?.GetValueKind() == JsonValueKind.String ? $"'{value.GetValue<string>()}'" : value?.ToJsonString() ?? "None";

    private static JsonNode? ParseDefault(OptionField field)
    {
        if (field.Type is not ("int" or "float" or "string" or "bool" or "select" or "mapping"))
            throw new InvalidOperationException($"Orrery:Gateway:ClusterOptions: field '{field.Field}' has unknown type '{field.Type}'.");
        if (!Clusters.FieldNames.IsValid(field.Field))
            throw new InvalidOperationException($"Orrery:Gateway:ClusterOptions: field name '{field.Field}' must be lowercase snake_case.");
        JsonNode? value;
        try
        {
            value = field.Type switch
            {
                "string" => JsonValue.Create(field.Default ?? ""),
                "select" => JsonValue.Create(field.Default ?? field.Options.FirstOrDefault() ?? ""),
                "mapping" => JsonNode.Parse(string.IsNullOrEmpty(field.Default) ? "{}" : field.Default),
                _ => field.Default is null ? null : JsonNode.Parse(field.Default),
            };
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"Orrery:Gateway:ClusterOptions: field '{field.Field}' has a default that is not a valid {field.Type}: {e.Message}", e);
        }
        if (Check(field, value) is { } error)
            throw new InvalidOperationException($"Orrery:Gateway:ClusterOptions: bad default: {error}.");
        return value;
    }

    private static void WriteBound(Utf8JsonWriter w, string name, double? bound, string type)
    {
        if (bound is null) w.WriteNull(name);
        else if (type == "int") w.WriteNumber(name, (long)bound.Value);
        else w.WriteNumber(name, bound.Value);
    }
}

internal static class FieldNames
{
    public static bool IsValid(string name) => name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_') && char.IsLetter(name[0]);
}
