using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Orrery.Hub.Api;

namespace Orrery.Gateway.Api;

/// <summary>
/// Responses as the dask_gateway client (aiohttp) needs them: always <c>application/json</c>, errors as
/// <c>{"error": "..."}</c>. The status is visible to <see cref="GatewayAuthFilter"/> (through the hub's
/// <see cref="JsonWriterResult"/>), which sets the auth cookie only on success.
/// </summary>
public static class GatewayResults
{
    public static IResult Json(int status, Action<Utf8JsonWriter> write) => new JsonWriterResult(status, write);

    public static IResult Json(Action<Utf8JsonWriter> write) => new JsonWriterResult(200, write);

    public static IResult Error(int status, string message) => new JsonWriterResult(status, w =>
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    public static IResult NoContent() => new JsonWriterResult(204, null);
}

/// <summary>A 4xx with dask-gateway's error body, thrown from handlers and answered by <see cref="GatewayAuthFilter"/>.</summary>
public sealed class GatewayApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
