using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Orrery.Hub.Api;

/// <summary>Responses in the hub API's wire format: JSON written straight to the body, JupyterHub's timestamps.</summary>
public static class HubResults
{
    public static IResult Json(int status, Action<Utf8JsonWriter> write) => new JsonWriterResult(status, write);

    public static IResult Json(Action<Utf8JsonWriter> write) => new JsonWriterResult(StatusCodes.Status200OK, write);

    public static IResult Error(int status, string message) => new JsonWriterResult(status, w =>
    {
        w.WriteStartObject();
        w.WriteNumber("status", status);
        w.WriteString("message", message);
        w.WriteEndObject();
    });

    /// <summary>An empty body with the given status (JupyterHub answers some calls with 200 and nothing).</summary>
    public static IResult Empty(int status) => Results.StatusCode(status);

    /// <summary>ISO 8601 UTC with microseconds and 'Z', as JupyterHub writes times.</summary>
    public static string FormatTime(DateTime time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static void WriteTime(this Utf8JsonWriter writer, string name, DateTime? time)
    {
        if (time is { } value)
            writer.WriteString(name, FormatTime(value));
        else
            writer.WriteNull(name);
    }

    public static void WriteStrings(this Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }
}

/// <summary>
/// A JSON answer written straight to the response with <see cref="Utf8JsonWriter"/>, so compatibility APIs control
/// every key; no writer means an empty body. Its status is visible to endpoint filters.
/// </summary>
public sealed class JsonWriterResult(int status, Action<Utf8JsonWriter>? write) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => status;

    public async Task ExecuteAsync(HttpContext context)
    {
        context.Response.StatusCode = status;
        if (write is null)
            return;
        context.Response.ContentType = "application/json";
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
            write(writer);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
