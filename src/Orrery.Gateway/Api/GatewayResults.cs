using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Orrery.Gateway.Api;

/// <summary>
/// Responses as the dask_gateway client (aiohttp) needs them: always <c>application/json</c>, errors as
/// <c>{"error": "..."}</c>. The status is visible to <see cref="GatewayAuthFilter"/>, which sets the auth
/// cookie only on success.
/// </summary>
public static class GatewayResults
{
    public static IResult Json(int status, Action<Utf8JsonWriter> write) => new JsonResult(status, write);

    public static IResult Json(Action<Utf8JsonWriter> write) => new JsonResult(200, write);

    public static IResult Error(int status, string message) => new JsonResult(status, w =>
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    public static IResult NoContent() => new JsonResult(204, null);

    private sealed class JsonResult(int status, Action<Utf8JsonWriter>? write) : IResult, IStatusCodeHttpResult
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
}

/// <summary>A 4xx with dask-gateway's error body, thrown from handlers and answered by <see cref="GatewayAuthFilter"/>.</summary>
public sealed class GatewayApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
