using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Hub.Pages;

/// <summary>The HTML shell every hub page shares, plus helpers to encode text and embed the antiforgery token.</summary>
public static class Page
{
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    public static IResult Render(HttpContext context, string title, string body, string? user = null, int status = 200)
    {
        var hub = context.RequestServices.GetRequiredService<IOptions<OrreryOptions>>().Value.HubPrefix;
        var links = string.Concat(context.RequestServices.GetRequiredService<HubNavigation>().Links.Select(l => $""" <a href="{E(l.Path)}">{E(l.Label)}</a>"""));
        var nav = user is null ? "" : $"""
            <nav><a href="{hub}home">Home</a> <a href="{hub}token">Token</a>{links}
            <span class="who">{E(user)}</span> <a href="{hub}logout">Logout</a></nav>
            """;
        var html = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} · Orrery</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
              body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d2733; }
              nav { display: flex; gap: 1rem; border-bottom: 1px solid #dde; padding-bottom: .5rem; margin-bottom: 1.5rem; }
              nav .who { margin-left: auto; color: #667; }
              table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eef; }
              .error { color: #a11; } .secret { font-family: monospace; background: #f4f6fa; padding: .5rem; word-break: break-all; }
              label { display: block; margin: .5rem 0; } input, select { font: inherit; }
            </style></head>
            <body>{{nav}}<h1>{{E(title)}}</h1>
            {{body}}
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>The hidden form field carrying the antiforgery token; every form post is checked against it.</summary>
    public static string AntiforgeryField(HttpContext context)
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        return $"""<input type="hidden" name="{E(tokens.FormFieldName)}" value="{E(tokens.RequestToken)}">""";
    }
}
