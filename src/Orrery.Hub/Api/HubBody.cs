using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Orrery.Hub.Api;

/// <summary>
/// Reads a request's JSON body with the hub's error messages: bad JSON (including strings that are not valid
/// text) is 400 "Invalid JSON in body of request", a field of the wrong type is 400 naming the field, an
/// oversized body is 413.
/// </summary>
public readonly struct HubBody
{
    private readonly JsonElement _root;

    private HubBody(JsonElement root) => _root = root;

    public bool IsEmpty => _root.ValueKind == JsonValueKind.Undefined;

    /// <summary>The whole body, or null when there was none.</summary>
    public JsonElement? Root => IsEmpty ? null : _root;

    public static async Task<HubBody> ReadAsync(HttpRequest request)
    {
        try
        {
            if (request.ContentLength == 0)
                return default;
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            if (buffer.Length == 0)
                return default;
            using var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
            CheckText(document.RootElement);
            return new HubBody(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            throw new HubApiException(400, "Invalid JSON in body of request");
        }
        catch (BadHttpRequestException e)
        {
            throw new HubApiException(e.StatusCode, e.StatusCode == 413 ? "Request body too large" : e.Message);
        }
    }

    /// <summary>
    /// The parser accepts strings that are not valid text (invalid UTF-8, lone surrogate escapes) and only fails
    /// when they are read; reading every name and string once here turns that into a 400 up front.
    /// </summary>
    private static void CheckText(JsonElement element)
    {
        if (!IsValidText(element))
            throw new HubApiException(400, "Invalid JSON in body of request");
    }

    /// <summary>False when some name or string is not valid text (reading it would throw later, as a 500).</summary>
    public static bool IsValidText(JsonElement element)
    {
        try
        {
            ReadAllText(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void ReadAllText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    ReadAllText(item);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    ReadAllText(property.Value);
                }
                break;
        }
    }

    public HubBody RequireObject()
    {
        if (!IsEmpty && _root.ValueKind != JsonValueKind.Object)
            throw new HubApiException(400, "Request body must be a JSON object");
        return this;
    }

    public bool Has(string name) => _root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(name, out _);

    public JsonElement? Property(string name) =>
        _root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value : null;

    public string? String(string name) => Property(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new HubApiException(400, $"'{name}' must be a string"),
    };

    public bool? Bool(string name) => Property(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new HubApiException(400, $"'{name}' must be true or false"),
    };

    public double? Number(string name) => Property(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
        _ => throw new HubApiException(400, $"'{name}' must be a number"),
    };

    public List<string>? Strings(string name) => Property(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } array when array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            => array.EnumerateArray().Select(e => e.GetString()!).ToList(),
        _ => throw new HubApiException(400, $"'{name}' must be a list of strings"),
    };

    public HubBody Object(string name) => Property(name) switch
    {
        null => default,
        { ValueKind: JsonValueKind.Object } value => new HubBody(value),
        _ => throw new HubApiException(400, $"'{name}' must be an object"),
    };

    public IEnumerable<(string Name, HubBody Value)> Properties() =>
        _root.ValueKind == JsonValueKind.Object ? _root.EnumerateObject().Select(p => (p.Name, new HubBody(p.Value))) : [];

    public IEnumerable<string> PropertyNames() => Properties().Select(p => p.Name);
}
