using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Server;

/// <summary>
/// Last-resort answers: the hub API keeps JupyterHub's <c>{"status","message"}</c> shape, everything else gets
/// ProblemDetails. Bad requests Kestrel rejects itself (oversized body, bad headers) keep their 4xx status.
/// </summary>
internal static class UnhandledErrors
{
    public static async Task WriteAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var status = error is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
        var detail = error is BadHttpRequestException ? error.Message : "An unexpected error occurred; it has been logged.";
        await WriteAsync(context, status, detail);
    }

    public static Task WriteStatusAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var reason = ReasonPhrases(context.Response.StatusCode);
        return WriteAsync(context, context.Response.StatusCode, reason);
    }

    private static async Task WriteAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        var hubApi = context.RequestServices.GetRequiredService<IOptions<OrreryOptions>>().Value.HubPrefix + "api";
        if ((context.Request.PathBase + context.Request.Path).StartsWithSegments(hubApi))
        {
            await context.Response.WriteAsJsonAsync(new HubError(status, detail));
            return;
        }
        await Results.Problem(statusCode: status, detail: detail).ExecuteAsync(context);
    }

    private static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    private sealed record HubError(int Status, string Message);
}
