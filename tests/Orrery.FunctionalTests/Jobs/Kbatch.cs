using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.FunctionalTests.Jobs;

/// <summary>
/// The kbatch service as the CLI calls it (paths relative to <c>services/kbatch/</c>, <c>Authorization: token</c>).
/// Every job list it reads is also rendered through <see cref="KbatchTable"/>, so any answer that would crash
/// <c>kbatch job list</c> fails the test that received it.
/// </summary>
public sealed class Kbatch(HttpClient http) : IDisposable
{
    public const string Prefix = "services/kbatch/";

    public HttpClient Http => http;

    public Task<HttpResponseMessage> GetAsync(string path) => http.GetAsync(Prefix + path);

    public Task<HttpResponseMessage> DeleteAsync(string path) => http.DeleteAsync(Prefix + path);

    public Task<HttpResponseMessage> PostAsync(string path, JsonNode body) =>
        http.PostAsync(Prefix + path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

    /// <summary>POST jobs/ that must succeed: 200 (FastAPI's create status) and the created Job.</summary>
    public async Task<JsonElement> SubmitAsync(JsonNode body, string path = "jobs/")
    {
        var response = await PostAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>GET jobs/: the items, each checked to render in the CLI's table.</summary>
    public async Task<JsonElement[]> JobsAsync()
    {
        var response = await GetAsync("jobs/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var list = await response.JsonAsync();
        list.GetProperty("kind").GetString().ShouldBe("JobList");
        var items = list.GetProperty("items").EnumerateArray().ToArray();
        foreach (var job in items)
            KbatchTable.Row(job, DateTimeOffset.UtcNow);
        return items;
    }

    public async Task<JsonElement?> FindJobAsync(string name) =>
        (await JobsAsync()).Cast<JsonElement?>().FirstOrDefault(j => j!.Value.GetProperty("metadata").GetProperty("name").GetString() == name);

    /// <summary>The job as <c>jobs/</c> lists it (the CLI's table checked too).</summary>
    public async Task<JsonElement> JobAsync(string name) =>
        await FindJobAsync(name) ?? throw new InvalidOperationException($"job {name} is not listed");

    public async Task<JsonElement[]> PodsAsync(string jobName)
    {
        var response = await GetAsync($"pods/?job_name={Uri.EscapeDataString(jobName)}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var list = await response.JsonAsync();
        list.GetProperty("kind").GetString().ShouldBe("PodList");
        return list.GetProperty("items").EnumerateArray().ToArray();
    }

    public async Task<string> LogsAsync(string path)
    {
        var response = await GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return text;
    }

    /// <summary>Polls <c>jobs/</c> until the job satisfies <paramref name="condition"/>; returns it.</summary>
    public async Task<JsonElement> WaitForAsync(string name, Func<JsonElement, bool> condition, int seconds = 30)
    {
        JsonElement last = default;
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                last = await JobAsync(name);
                return condition(last);
            }, seconds);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last: {(last.ValueKind == JsonValueKind.Undefined ? "-" : last.GetProperty("status").GetRawText())}", e);
        }
        return last;
    }

    /// <summary>Until the job has a Complete or Failed condition.</summary>
    public Task<JsonElement> WaitFinishedAsync(string name, int seconds = 30) => WaitForAsync(name, IsFinished, seconds);

    public static bool IsFinished(JsonElement job) =>
        job.GetProperty("status").GetProperty("conditions") is { ValueKind: JsonValueKind.Array } conditions
        && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() is "Complete" or "Failed");

    public static string Name(JsonElement item) => item.GetProperty("metadata").GetProperty("name").GetString()!;

    public static int? Count(JsonElement job, string key) =>
        job.GetProperty("status").GetProperty(key) is { ValueKind: JsonValueKind.Number } n ? n.GetInt32() : null;

    public static string TableStatus(JsonElement job) => KbatchTable.Status(job);

    public static async Task<string> DetailAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, text);
        var json = JsonDocument.Parse(text).RootElement;
        json.Keys().ShouldBe(["detail"]);
        return json.GetProperty("detail").GetString()!;
    }

    public void Dispose() => http.Dispose();
}

/// <summary>One Orrery per test class with fast loops; tests make their own users.</summary>
public abstract class JobsFixture : IAsyncLifetime
{
    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    public static Dictionary<string, string?> Fast(IReadOnlyDictionary<string, string?>? changes = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orrery:Jobs:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Compute:StopGrace"] = "00:00:02",
        };
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
            settings[key] = value;
        return settings;
    }

    protected virtual IReadOnlyDictionary<string, string?> Settings => Fast();

    public async Task InitializeAsync() => _server = await OrreryTestServer.StartAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }

    public async Task<(string Name, string Token, Kbatch Kbatch)> UserAsync(string prefix)
    {
        var (name, token) = await Server.CreateUserAsync(prefix);
        return (name, token, new Kbatch(Server.Client(token)));
    }
}

/// <summary>Process and database views of what a job runs, for assertions the API cannot make.</summary>
public static class JobProcesses
{
    /// <summary>The pid of the pod's wrapper shell (its session and process group leader), from the backend handle.</summary>
    public static async Task<int> PidAsync(OrreryTestServer server, string podName)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var handle = await db.Resources.Where(r => r.Name == podName).Select(r => r.Handle).SingleAsync();
        return JsonDocument.Parse(handle!).RootElement.GetProperty("pid").GetInt32();
    }

    /// <summary>Processes (not zombies) in the process group <paramref name="pgid"/>.</summary>
    public static List<int> LiveGroupMembers(int pgid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] != "Z" && int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) == pgid)
                members.Add(pid);
        }
        return members;
    }

    public static async Task<int> ResourceCountAsync(OrreryTestServer server, string user)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var id = await db.Users.Where(u => u.Name == user).Select(u => u.Id).SingleAsync();
        return await db.Resources.CountAsync(r => r.OwnerId == id);
    }

    public static async Task<List<BatchJob>> JobRowsAsync(OrreryTestServer server, string user)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var id = await db.Users.Where(u => u.Name == user).Select(u => u.Id).SingleAsync();
        return await db.Jobs.AsNoTracking().Where(j => j.OwnerId == id).ToListAsync();
    }
}

/// <summary>
/// Reads a chunked HTTP/1.1 response off the socket, so chunk boundaries (one per log line for kbatch) are
/// visible, with the time each chunk arrived.
/// </summary>
public static class RawChunks
{
    public static async IAsyncEnumerable<string> ReadAsync(Uri baseAddress, string path, string token,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port, cancellationToken);
        await using var stream = tcp.GetStream();
        var request = $"GET /{path} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nAuthorization: token {token}\r\n"
                      + "Accept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);

        var status = await LineAsync(stream, cancellationToken);
        status.ShouldStartWith("HTTP/1.1 200");
        var headers = new List<string>();
        for (var line = await LineAsync(stream, cancellationToken); line.Length > 0; line = await LineAsync(stream, cancellationToken))
            headers.Add(line.ToLowerInvariant());
        headers.ShouldNotContain(h => h.StartsWith("content-encoding:", StringComparison.Ordinal));
        if (headers.Contains("content-length: 0"))
            yield break;   // ended before anything was written (e.g. deleted before it ran): an empty body
        headers.ShouldContain("transfer-encoding: chunked");
        while (true)
        {
            var size = Convert.ToInt32((await LineAsync(stream, cancellationToken)).Split(';')[0], 16);
            if (size == 0)
                yield break;
            var data = new byte[size];
            await stream.ReadExactlyAsync(data, cancellationToken);
            (await LineAsync(stream, cancellationToken)).ShouldBe("");
            yield return Encoding.UTF8.GetString(data);
        }
    }

    private static async Task<string> LineAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            await stream.ReadExactlyAsync(one, cancellationToken);
            if (one[0] == '\n')
                break;
            bytes.Add(one[0]);
        }
        if (bytes.Count > 0 && bytes[^1] == '\r')
            bytes.RemoveAt(bytes.Count - 1);
        return Encoding.ASCII.GetString(bytes.ToArray());
    }
}
