using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using Orrery.Compute;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Server;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>
/// The real Orrery server (same Program.Build as production) on real Kestrel at 127.0.0.1 with a free port,
/// its own data directory, and a known admin token. Restartable on the same data to test persistence.
/// </summary>
public sealed class OrreryTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDataDir;
    private bool _stopped;

    private OrreryTestServer(WebApplication app, string dataDir, string adminToken, bool ownsDataDir, IReadOnlyDictionary<string, string?> settings)
    {
        _app = app;
        DataDir = dataDir;
        AdminToken = adminToken;
        _ownsDataDir = ownsDataDir;
        Settings = settings;
        BaseAddress = new Uri(app.Urls.First());
    }

    public Uri BaseAddress { get; }
    public string DataDir { get; }
    public string AdminToken { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public IServiceProvider Services => _app.Services;

    public static Task<OrreryTestServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null) =>
        StartAsync(Directory.CreateTempSubdirectory("orrery-test-").FullName, ownsDataDir: true, settings ?? new Dictionary<string, string?>());

    /// <summary>Stops this server (keeping its data directory) and starts a new one on the same data and settings.</summary>
    public async Task<OrreryTestServer> RestartAsync(IReadOnlyDictionary<string, string?>? changes = null)
    {
        await DisposeWithoutCleanupAsync();
        var settings = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
            settings[key] = value;
        return await StartAsync(DataDir, _ownsDataDir, settings);
    }

    private static async Task<OrreryTestServer> StartAsync(string dataDir, bool ownsDataDir, IReadOnlyDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Orrery:DataDir"] = dataDir,
            ["Orrery:AdminToken"] = "test-admin-token-" + Path.GetFileName(dataDir),
            ["Orrery:Hub:LoginAttemptsPerMinute"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft"] = "Error",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        var app = Program.Build(all.Where(kv => kv.Value is not null).Select(kv => $"--{kv.Key}={kv.Value}").ToArray());
        await app.StartAsync();
        return new OrreryTestServer(app, dataDir, all["Orrery:AdminToken"]!, ownsDataDir, settings);
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>An HTTP client for this server; with a token it sends <c>Authorization: token …</c>.</summary>
    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", token);
        return client;
    }

    public HttpClient AdminClient() => Client(AdminToken);

    /// <summary>Creates a user (unique name from <paramref name="prefix"/>) and returns its name and a full-permission token.</summary>
    public async Task<(string Name, string Token)> CreateUserAsync(string prefix, bool admin = false, string? password = null)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 64)];
        using var client = AdminClient();
        var created = await client.PostAsJsonAsync($"hub/api/users/{name}", new Dictionary<string, object?> { ["admin"] = admin, ["password"] = password });
        created.EnsureSuccessStatusCode();
        return (name, await CreateTokenAsync(name));
    }

    public async Task<string> CreateTokenAsync(string user, object? body = null)
    {
        using var client = AdminClient();
        var response = await client.PostAsJsonAsync($"hub/api/users/{user}/tokens", body ?? new { note = "test" });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>Stops the server but keeps its data directory, as a crash or restart would.</summary>
    public async Task DisposeWithoutCleanupAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            // The reconcilers stop first, so nothing still pending is launched after the clean-up looked.
            _stopped = true;
            await _app.StopAsync();
            await StopLeftoverProcessesAsync();
            await _app.DisposeAsync();
        }
        if (_ownsDataDir && Directory.Exists(DataDir))
            Directory.Delete(DataDir, recursive: true);
    }

    /// <summary>Stops what a test left running, so no process outlives the test run.</summary>
    private async Task StopLeftoverProcessesAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
        var backends = scope.ServiceProvider.GetRequiredService<ComputeBackends>();
        var active = await db.Resources.Where(r => r.Handle != null && r.State != ResourceState.Stopped && r.State != ResourceState.Failed).ToListAsync();
        foreach (var resource in active)
            if (backends.Find(resource.Backend) is { } backend)
                await backend.StopAsync(new BackendHandle(resource.Backend, resource.Handle!), TimeSpan.FromSeconds(1), CancellationToken.None);
        KillProcessGroupsNaming(DataDir);
    }

    /// <summary>
    /// The backstop: any local-backend process group whose wrapper names this server's data directory (its state
    /// directory is inside it) is killed, whatever the database says, so no test leaves processes behind.
    /// </summary>
    private static void KillProcessGroupsNaming(string dataDir)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(dataDir + "/", StringComparison.Ordinal))
                    KillGroup(-pid, 9);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int KillGroup(int pid, int signal);
}
