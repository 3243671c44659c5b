using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// Real dask clients for clusters whose processes run on Slurm: Debian's <c>/usr/bin/python3</c> with
/// <c>tests/clients/orrery_gateway.py</c> (Gateway, SniSecurity, connect through the SNI proxy on Orrery's port), and
/// views of a cluster from its scheduler and from Slurm.
/// </summary>
public static class DaskClient
{
    /// <summary>
    /// The client program: <c>compute</c> sums <c>range(1000)</c> on the cluster with <c>client.submit</c> and reports
    /// the node (<c>$SLURMD_NODENAME</c>) of every worker; <c>adapt</c> turns adaptivity on (0..maximum), runs one-second
    /// tasks while recording the worker count, releases them and waits until no worker is left. Output: one JSON line.
    /// </summary>
    private const string Program =
        """
        import json, os, sys, time
        from orrery_gateway import Gateway

        address, token, name, mode = sys.argv[1:5]
        gateway = Gateway(address, token)
        client = gateway.connect(name, timeout=60)

        def workers():
            return len(client.scheduler_info()["workers"])

        if mode == "compute":
            total = client.submit(sum, range(1000)).result(timeout=60)
            nodes = client.run(lambda: os.environ.get("SLURMD_NODENAME"))
            print(json.dumps({"sum": total, "nodes": sorted(nodes.values()), "workers": workers()}))
        elif mode == "adapt":
            maximum = int(sys.argv[5])
            answer = gateway.adapt(name, minimum=0, maximum=maximum)
            def slow(i):
                time.sleep(1)
                return i
            futures = client.map(slow, range(24), pure=False)
            peak, deadline = 0, time.monotonic() + 150
            while not all(f.done() for f in futures):
                if time.monotonic() > deadline:
                    sys.exit("tasks not done within 150 s; peak %d workers" % peak)
                peak = max(peak, workers())
                time.sleep(0.3)
            results = client.gather(futures)
            del futures
            deadline = time.monotonic() + 90
            while workers() > 0 and time.monotonic() < deadline:
                time.sleep(0.5)
            print(json.dumps({"adapt": answer, "ok": results == list(range(24)), "peak": peak, "final": workers()}))
        client.close()
        """;

    /// <summary>Runs the client program and returns its JSON line; fails with its output when it fails.</summary>
    public static Task<JsonElement> RunAsync(OrreryTestServer server, string token, string cluster, string mode, params string[] extra) =>
        PythonProgram.RunAsync(Program, $"dask {mode}", [new Uri(server.BaseAddress, "services/dask-gateway").ToString(), token, cluster, mode, .. extra]);

    /// <summary>The names of the workers registered with the cluster's scheduler (its HTTP API on its dashboard port).</summary>
    public static async Task<HashSet<string>> RegisteredAsync(OrreryTestServer server, string cluster)
    {
        await using var scope = server.Services.CreateAsyncScopeHelper();
        var dashboard = await scope.Db().Clusters.Where(c => c.Name == cluster).Select(c => c.DashboardAddress).SingleAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var workers = await http.GetFromJsonAsync<JsonElement>(new Uri(new Uri(dashboard!), "api/v1/get_workers"));
        return workers.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("name").ToString()).ToHashSet();
    }

    /// <summary>The cluster's live worker resources (not ended, not being stopped) with their Slurm job ids.</summary>
    public static async Task<List<(string Name, string SlurmJobId)>> LiveWorkersAsync(OrreryTestServer server, string cluster)
    {
        await using var scope = server.Services.CreateAsyncScopeHelper();
        var rows = await scope.Db().Resources.AsNoTracking()
            .Where(r => r.Parent == cluster && r.Kind == ResourceKind.Worker && r.State != ResourceState.Stopped && r.State != ResourceState.Failed)
            .ToListAsync();
        return rows.Where(r => r.Handle is not null)
            .Select(r => (r.Name, JsonDocument.Parse(r.Handle!).RootElement.GetProperty("JobId").GetString()!)).ToList();
    }

    /// <summary>Slurm jobs of the cluster's workers still queued or running (all named <c>orrery-worker-&lt;name&gt;</c>).</summary>
    public static async Task<List<SlurmCluster.Job>> QueuedWorkerJobsAsync(OrreryTestServer server, string cluster)
    {
        await using var scope = server.Services.CreateAsyncScopeHelper();
        var names = (await scope.Db().Resources.AsNoTracking().Where(r => r.Parent == cluster && r.Kind == ResourceKind.Worker).Select(r => r.Id).ToListAsync())
            .Select(id => "orrery-" + id).ToHashSet();
        return (await SlurmCluster.QueuedAsync()).Where(j => names.Contains(j.Name)).ToList();
    }
}
