using System.Net;
using System.Text.RegularExpressions;

namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>A cookie-keeping client that behaves like a browser on Orrery's pages: reads antiforgery fields, posts forms.</summary>
public static partial class Browser
{
    public static HttpClient New(OrreryTestServer server, out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, UseCookies = true, AllowAutoRedirect = false })
        {
            BaseAddress = server.BaseAddress,
        };
    }

    public static HttpClient New(OrreryTestServer server) => New(server, out _);

    /// <summary>A browser that has logged in through the login form; fails the test if the login is refused.</summary>
    public static async Task<HttpClient> LoggedInAsync(OrreryTestServer server, string user, string password)
    {
        var browser = New(server);
        var response = await browser.PostFormAsync("hub/login", "hub/login", ("username", user), ("password", password));
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        return browser;
    }

    /// <summary>The antiforgery field (name, value) of the form on <paramref name="page"/>.</summary>
    public static async Task<(string Name, string Value)> FormTokenAsync(this HttpClient browser, string page)
    {
        var match = AntiforgeryField().Match(await browser.GetStringAsync(page));
        match.Success.ShouldBeTrue($"no antiforgery field on {page}");
        return (WebUtility.HtmlDecode(match.Groups[1].Value), WebUtility.HtmlDecode(match.Groups[2].Value));
    }

    /// <summary>Loads <paramref name="page"/> for its antiforgery token, then posts the fields with it to <paramref name="action"/>.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(this HttpClient browser, string page, string action, params (string Name, string Value)[] fields)
    {
        var token = await browser.FormTokenAsync(page);
        return await browser.PostAsync(action, Form([token, .. fields]));
    }

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));

    [GeneratedRegex("<input type=\"hidden\" name=\"(__RequestVerificationToken)\" value=\"([^\"]*)\">")]
    private static partial Regex AntiforgeryField();
}
