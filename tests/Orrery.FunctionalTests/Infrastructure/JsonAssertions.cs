using System.Text.Json;

namespace Orrery.FunctionalTests.Infrastructure;

public static class JsonAssertions
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static string[] Keys(this JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    public static string[] Strings(this JsonElement element) => element.EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>Asserts a JupyterHub error body: <c>{"status": N, "message": "…"}</c> with the matching status code.</summary>
    public static async Task<string> ShouldBeHubErrorAsync(this HttpResponseMessage response, int status)
    {
        ((int)response.StatusCode).ShouldBe(status);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var json = await response.JsonAsync();
        json.Keys().ShouldBe(["status", "message"]);
        json.GetProperty("status").GetInt32().ShouldBe(status);
        return json.GetProperty("message").GetString()!;
    }
}
