using System.Globalization;
using Orrery.Core.Compute;

namespace Orrery.Gateway.Clusters;

/// <summary>
/// The command lines and environments of a cluster's processes (protocol spec §7.3): a TLS-only scheduler on
/// loopback with its HTTP API routes on, and `--no-nanny` workers so a retired worker really exits.
/// </summary>
public static class DaskLaunchSpecs
{
    // Setting the routes replaces distributed's default list, so the defaults are repeated with the API added.
    private const string HttpRoutes = "['distributed.http.scheduler.api','distributed.http.scheduler.prometheus','distributed.http.scheduler.info',"
        + "'distributed.http.scheduler.json','distributed.http.health','distributed.http.proxy','distributed.http.statics']";

    public static string CertificatePath(string workDir) => Path.Combine(workDir, ".certs", "dask.crt");

    public static string KeyPath(string workDir) => Path.Combine(workDir, ".certs", "dask.pem");

    public static string SchedulerFile(string workDir) => Path.Combine(workDir, "scheduler.json");

    public static LaunchSpec Scheduler(string resourceId, string dask, string workDir, ClusterSettings settings,
        IReadOnlyDictionary<string, string>? placement = null, string? image = null)
    {
        var environment = Common(workDir, settings);
        environment["DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__CERT"] = CertificatePath(workDir);
        environment["DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__KEY"] = KeyPath(workDir);
        environment["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"] = HttpRoutes;
        if (settings.IdleTimeoutSeconds > 0)
            environment["DASK_DISTRIBUTED__SCHEDULER__IDLE_TIMEOUT"] = settings.IdleTimeoutSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        string[] command = [dask, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", SchedulerFile(workDir)];
        return new LaunchSpec(resourceId, command, environment, workDir)
        {
            Resources = new ResourceRequest(Cores: 1),
            Placement = placement ?? new Dictionary<string, string>(),
            Image = image,
        };
    }

    public static LaunchSpec Worker(string resourceId, string workerName, string dask, string workDir, string schedulerAddress, ClusterSettings settings,
        IReadOnlyDictionary<string, string>? placement = null, string? image = null)
    {
        var environment = Common(workDir, settings);
        environment["DASK_DISTRIBUTED__COMM__TLS__WORKER__CERT"] = CertificatePath(workDir);
        environment["DASK_DISTRIBUTED__COMM__TLS__WORKER__KEY"] = KeyPath(workDir);
        string[] command = [dask, "worker", schedulerAddress, "--name", workerName,
            "--nthreads", settings.WorkerThreads.ToString(CultureInfo.InvariantCulture),
            "--memory-limit", settings.WorkerMemory.ToString(CultureInfo.InvariantCulture),
            "--dashboard-address", "127.0.0.1:0", "--local-directory", Path.Combine(workDir, "workers"), "--no-nanny"];
        return new LaunchSpec(resourceId, command, environment, workDir)
        {
            Resources = new ResourceRequest(settings.WorkerCores, settings.WorkerMemory),
            Placement = placement ?? new Dictionary<string, string>(),
            Image = image,
        };
    }

    /// <summary>The user's variables first, then what TLS needs, so a user variable cannot switch encryption off.</summary>
    private static Dictionary<string, string> Common(string workDir, ClusterSettings settings)
    {
        var environment = new Dictionary<string, string>(settings.Environment, StringComparer.Ordinal)
        {
            ["HOME"] = workDir,
            ["DASK_TEMPORARY_DIRECTORY"] = workDir,
            ["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"] = "True",
            ["DASK_DISTRIBUTED__COMM__TLS__CA_FILE"] = CertificatePath(workDir),
        };
        return environment;
    }
}
