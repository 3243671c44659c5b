using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Environments;

/// <summary>
/// The environments API as a user drives it with curl: a spec (YAML) and a zip of local library directories.
/// <see cref="Library"/> is a real pip-installable package: <c>orrery_testlib</c>, whose <c>answer()</c> returns the
/// value it was made with, so changing only the library changes the content.
/// </summary>
public sealed class EnvironmentsClient(HttpClient http) : IDisposable
{
    public const string Prefix = "services/environments/api/v1/environments";

    public HttpClient Http => http;

    public static string Spec(string name, string @base = "host", string extra = "") =>
        $"name: {name}\nbase: {@base}\nlibraries: [testlib]\nvariables: {{ORRERY_TEST_VARIABLE: from-the-environment}}\nwelcome: Hello from {name}\n{extra}";

    /// <summary>A zip holding <c>testlib/</c>: pyproject.toml and the package <c>orrery_testlib</c> with <c>answer()</c>.</summary>
    public static byte[] Library(int answer = 42)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "testlib/pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
                + "[project]\nname = \"orrery-testlib\"\nversion = \"0.1.0\"\n\n[tool.setuptools]\npackages = [\"orrery_testlib\"]\n");
            Add(zip, "testlib/orrery_testlib/__init__.py", $"from orrery_testlib.numbers import answer\n");
            Add(zip, "testlib/orrery_testlib/numbers.py", $"def answer():\n    return {answer}\n");
        }
        return buffer.ToArray();
    }

    private static void Add(ZipArchive zip, string path, string text)
    {
        using var stream = zip.CreateEntry(path).Open();
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    public async Task<HttpResponseMessage> SubmitAsync(string spec, byte[]? bundle = null)
    {
        using var form = new MultipartFormDataContent { { new StringContent(spec), "spec" } };
        if (bundle is not null)
        {
            var zip = new ByteArrayContent(bundle);
            zip.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            form.Add(zip, "bundle", "libraries.zip");
        }
        return await http.PostAsync(Prefix, form);
    }

    /// <summary>Submits and returns the answer's JSON, asserting 202 (a build started) or 200 (cache hit).</summary>
    public async Task<JsonElement> SubmitOkAsync(string spec, byte[]? bundle = null)
    {
        var response = await SubmitAsync(spec, bundle);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBeOneOf([HttpStatusCode.Accepted, HttpStatusCode.OK], body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<JsonElement> GetAsync(string reference)
    {
        var response = await http.GetAsync($"{Prefix}/{reference}");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Follows the build log to its end (the route streams until the build ends), then reads the environment.</summary>
    public async Task<(JsonElement Environment, string Log)> WaitBuiltAsync(string id, int seconds = 300)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var log = await http.GetStringAsync($"{Prefix}/{id}/logs?follow=true", timeout.Token);
        JsonElement environment = default;
        await Eventually.TrueAsync(async () =>
        {
            environment = await GetAsync(id);
            return environment.GetProperty("state").GetString() != "building";
        }, seconds: 30);
        return (environment, log);
    }

    /// <summary>Builds <paramref name="spec"/> with the library and asserts it is ready; returns its id.</summary>
    public async Task<string> BuildReadyAsync(string spec, byte[] bundle, int seconds = 300)
    {
        var id = (await SubmitOkAsync(spec, bundle)).GetProperty("id").GetString()!;
        var (environment, log) = await WaitBuiltAsync(id, seconds);
        environment.GetProperty("state").GetString().ShouldBe("ready", $"{environment}\n{log}");
        return id;
    }

    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, body);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public void Dispose() => http.Dispose();
}
