using System.Net.Http.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Servers;

/// <summary>
/// Cheap server profiles for the personal-server tests: real processes, but a shell and python's http.server
/// instead of jupyterhub-singleuser (http.server answers 404 under the prefix, which counts as ready).
/// </summary>
public static class ServerProfiles
{
    public const string GpuGroup = "gpu-users";

    /// <summary>Serves HTTP on the port taken from <c>$JUPYTERHUB_SERVICE_URL</c>.</summary>
    private const string Serve =
        "p=${JUPYTERHUB_SERVICE_URL#http://127.0.0.1:}; exec python3 -m http.server --bind 127.0.0.1 ${p%%/*}";

    /// <summary>
    /// Writes its environment to <c>$HOME/env-&lt;server&gt;.txt</c> and its pid (the pid python keeps after
    /// <c>exec</c>) to <c>$HOME/pid-&lt;server&gt;.txt</c>, then serves.
    /// </summary>
    private const string Tiny =
        "env > \"$HOME/env-$JUPYTERHUB_SERVER_NAME.txt\"; echo $$ > \"$HOME/pid-$JUPYTERHUB_SERVER_NAME.txt\"; " + Serve;

    /// <summary>The profiles (tiny = default, broken, slow, grouped) and fast reconcile loops.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? changes = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.200",
            ["Orrery:Compute:StopGrace"] = "00:00:03",
            ["Orrery:Servers:ReconcileInterval"] = "00:00:00.200",
        };
        Profile(settings, 0, "tiny", "Tiny", Tiny, isDefault: true);
        Profile(settings, 1, "broken", "Broken", "echo boom; exit 3");
        Profile(settings, 2, "slow", "Slow", "sleep 30; " + Serve);
        Profile(settings, 3, "grouped", "Grouped", Tiny);
        settings["Orrery:Servers:Profiles:3:AllowedGroups:0"] = GpuGroup;
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
            settings[key] = value;
        return settings;
    }

    private static void Profile(Dictionary<string, string?> settings, int index, string slug, string displayName, string script, bool isDefault = false)
    {
        var at = $"Orrery:Servers:Profiles:{index}";
        settings[$"{at}:Slug"] = slug;
        settings[$"{at}:DisplayName"] = displayName;
        if (isDefault)
            settings[$"{at}:Default"] = "true";
        settings[$"{at}:Command:0"] = "/bin/sh";
        settings[$"{at}:Command:1"] = "-c";
        settings[$"{at}:Command:2"] = script;
    }
}

/// <summary>One Orrery with <see cref="ServerProfiles"/> per test class, and the <c>gpu-users</c> group.</summary>
public class ServersFixture : IAsyncLifetime
{
    private OrreryTestServer? _server;

    public OrreryTestServer Server => _server ?? throw new InvalidOperationException("Server not started.");

    protected virtual IReadOnlyDictionary<string, string?> Changes => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        _server = await OrreryTestServer.StartAsync(ServerProfiles.Settings(Changes));
        using var admin = _server.AdminClient();
        (await admin.PostAsJsonAsync($"hub/api/groups/{ServerProfiles.GpuGroup}", new { })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>
/// Short slow-spawn timeout (so the <c>slow</c> profile answers 202 after 1 s), fast keep-alives, and a 1 KiB home
/// quota (only the <c>slow</c> profile, which writes nothing, is started here).
/// </summary>
public sealed class ServersLimitsFixture : ServersFixture
{
    protected override IReadOnlyDictionary<string, string?> Changes => new Dictionary<string, string?>
    {
        ["Orrery:Servers:SlowSpawnTimeout"] = "00:00:01",
        ["Orrery:Servers:ProgressKeepAlive"] = "00:00:00.300",
        ["Orrery:Servers:HomeQuota"] = "1K",
    };
}
