using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Gateway;

/// <summary>Orrery restarts while clusters run: they are re-attached, or marked FAILED when their processes vanished.</summary>
public class ClusterRestartTests
{
    private static readonly Dictionary<string, string?> Fast = new()
    {
        ["Orrery:Gateway:ReconcileInterval"] = "00:00:00.300",
        ["Orrery:Gateway:AdaptivePeriod"] = "00:00:00.500",
        ["Orrery:Compute:ReconcileInterval"] = "00:00:00.300",
        ["Orrery:Compute:StopGrace"] = "00:00:03",
    };

    [Fact]
    public async Task Restart_RunningCluster_ReattachedRoutedAndAdaptResumes()
    {
        var server = await OrreryTestServer.StartAsync(Fast);
        string? name = null;
        try
        {
            name = await CreateRunningAsync(server);
            await ScaleAsync(server, name, 1);
            await WaitForLiveWorkersAsync(server, name, 1);

            await server.DisposeWithoutCleanupAsync();
            // While Orrery is down, ask for adaptive scaling with a floor of 2, as if set just before the stop.
            await using (var db = OpenDb(server))
                await db.Clusters.Where(c => c.Name == name).ExecuteUpdateAsync(s => s
                    .SetProperty(c => c.Adaptive, true).SetProperty(c => c.AdaptiveMinimum, 2).SetProperty(c => c.AdaptiveMaximum, 2));
            server = await server.RestartAsync();

            var report = await GetAsync(server, name, wait: true);
            report.GetProperty("status").GetString().ShouldBe("RUNNING");
            await HandshakeThroughProxyAsync(server, name, report);
            await WaitForLiveWorkersAsync(server, name, 2);
        }
        finally
        {
            if (name is not null)
                await StopAsync(server, name);
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restart_SchedulerVanishedWhileDown_ClusterFailedWithReason()
    {
        var server = await OrreryTestServer.StartAsync(Fast);
        try
        {
            var name = await CreateRunningAsync(server);
            await server.DisposeWithoutCleanupAsync();
            await using (var db = OpenDb(server))
            {
                var handle = await db.Resources.Where(r => r.Parent == name && r.Kind == Orrery.Core.Compute.ResourceKind.Scheduler).Select(r => r.Handle).SingleAsync();
                var pid = JsonDocument.Parse(handle!).RootElement.GetProperty("pid").GetInt32();
                using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", "--", "-" + pid]);
                await kill.WaitForExitAsync();
            }
            server = await server.RestartAsync();

            await Eventually.TrueAsync(async () => (await GetAsync(server, name, wait: false)).GetProperty("status").GetString() == "FAILED", seconds: 60);
            await using var check = OpenDb(server);
            var cluster = await check.Clusters.SingleAsync(c => c.Name == name);
            cluster.State.ShouldBe(ResourceState.Failed);
            cluster.Reason!.ShouldContain("scheduler");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<string> CreateRunningAsync(OrreryTestServer server)
    {
        using var client = server.AdminClient();
        var created = await client.PostAsJsonAsync("services/dask-gateway/api/v1/clusters/", new { cluster_options = new { worker_memory = 0.25 } });
        created.EnsureSuccessStatusCode();
        var name = (await created.JsonAsync()).GetProperty("name").GetString()!;
        await Eventually.TrueAsync(async () => (await GetAsync(server, name, wait: true)).GetProperty("status").GetString() == "RUNNING", seconds: 90);
        return name;
    }

    private static async Task<JsonElement> GetAsync(OrreryTestServer server, string name, bool wait)
    {
        using var client = server.AdminClient();
        return await (await client.GetAsync($"services/dask-gateway/api/v1/clusters/{name}{(wait ? "?wait" : "")}")).JsonAsync();
    }

    private static async Task ScaleAsync(OrreryTestServer server, string name, int count)
    {
        using var client = server.AdminClient();
        (await client.PostAsJsonAsync($"services/dask-gateway/api/v1/clusters/{name}/scale", new { count })).EnsureSuccessStatusCode();
    }

    private static async Task StopAsync(OrreryTestServer server, string name)
    {
        using var client = server.AdminClient();
        await client.DeleteAsync($"services/dask-gateway/api/v1/clusters/{name}");
        await Eventually.TrueAsync(async () => (await GetAsync(server, name, wait: false)).GetProperty("status").GetString() is "STOPPED" or "FAILED", seconds: 60);
    }

    private static async Task WaitForLiveWorkersAsync(OrreryTestServer server, string name, int count) =>
        await Eventually.TrueAsync(async () =>
        {
            await using var db = OpenDb(server);
            return await db.Resources.CountAsync(r => r.Parent == name && r.Kind == Orrery.Core.Compute.ResourceKind.Worker
                                                      && r.State == ResourceState.Running && !r.StopRequested) == count;
        }, seconds: 90);

    /// <summary>TLS through Orrery's port with the cluster's SNI: the scheduler (not the proxy) must present the cluster's certificate.</summary>
    private static async Task HandshakeThroughProxyAsync(OrreryTestServer server, string name, JsonElement report)
    {
        using var pem = X509Certificate2.CreateFromPem(report.GetProperty("tls_cert").GetString(), report.GetProperty("tls_key").GetString());
        using var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "daskgateway-" + name,
            ClientCertificates = [certificate],
        });
        tls.IsAuthenticated.ShouldBeTrue();
        tls.RemoteCertificate!.GetCertHashString().ShouldBe(certificate.GetCertHashString());
    }

    /// <summary>A database context of its own, usable while the server is down.</summary>
    private static OrreryDb OpenDb(OrreryTestServer server)
    {
        var options = new DbContextOptionsBuilder<OrreryDb>();
        StorageModule.Configure(options, new StorageOptions(), server.DataDir);
        return new OrreryDb(options.Options);
    }
}
