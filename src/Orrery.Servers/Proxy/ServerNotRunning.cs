using Microsoft.AspNetCore.Http;
using Orrery.Hub.Api;

namespace Orrery.Servers.Proxy;

/// <summary>What <c>/user/&lt;name&gt;/…</c> answers while the server is not running (protocol notes §4.8): 424.</summary>
internal static class ServerNotRunning
{
    public static async Task WriteAsync(HttpContext context, ServerIdentity server, bool isApiRequest)
    {
        var spawn = $"{server.BaseUrl}hub/spawn/{Uri.EscapeDataString(server.User)}{(server.Server.Length > 0 ? "/" + Uri.EscapeDataString(server.Server) : "")}";
        var here = context.Request.PathBase + context.Request.Path;
        context.Response.StatusCode = StatusCodes.Status424FailedDependency;
        if (isApiRequest)
        {
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["message"] = $"JupyterHub server no longer running at {here}. Restart the server at {spawn}",
            }, context.RequestAborted);
            return;
        }
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"""
            <!doctype html><html><head><meta charset="utf-8"><title>Server not running</title></head><body>
            <h1>Server not running</h1>
            <p>The server at <code>{Hub.Pages.Page.E(server.Prefix)}</code> is not running.</p>
            <p><a href="{Hub.Pages.Page.E(spawn)}">Launch Server</a></p>
            </body></html>
            """, context.RequestAborted);
    }
}
