using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// The private Slurm cluster the tests share (<c>scripts/slurm.sh</c>: nodes n1..n3, partition <c>debug</c>), seen
/// through Slurm's own commands, plus what a test needs to break it: killing a node (its slurmd, and what it ran)
/// and bringing it back.
/// </summary>
public static class SlurmCluster
{
    public const string Partition = "debug";
    public static readonly string[] Nodes = ["n1", "n2", "n3"];

    /// <summary>Why the Slurm tests cannot run here, or null when they can.</summary>
    public static string? Unavailable()
    {
        if (Environment.GetEnvironmentVariable("ORRERY_TEST_SLURM") != "1")
            return "Slurm tests run with ORRERY_TEST_SLURM=1 and a cluster from scripts/slurm.sh (SLURM_CONF).";
        var conf = Environment.GetEnvironmentVariable("SLURM_CONF");
        if (string.IsNullOrEmpty(conf) || !File.Exists(conf))
            return "SLURM_CONF does not name a slurm.conf; start one with: eval \"$(scripts/slurm.sh start)\".";
        return null;
    }

    /// <summary>The cluster's directory (pid files, logs): <c>$ORRERY_SLURM_DIR</c>, else the slurm.conf's.</summary>
    public static string Dir =>
        Environment.GetEnvironmentVariable("ORRERY_SLURM_DIR") is { Length: > 0 } dir ? dir : Path.GetDirectoryName(Environment.GetEnvironmentVariable("SLURM_CONF"))!;

    /// <summary>Settings for an Orrery with the Slurm backend on the test partition and fast loops.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? changes = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orrery:Backends:Slurm:Enabled"] = "true",
            ["Orrery:Backends:Slurm:Partition"] = Partition,
            ["Orrery:Compute:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Compute:StopGrace"] = "00:00:03",
            ["Orrery:Jobs:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Gateway:ReconcileInterval"] = "00:00:00.300",
            ["Orrery:Servers:ReconcileInterval"] = "00:00:00.300",
        };
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
            settings[key] = value;
        return settings;
    }

    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Runs a Slurm command (no shell) with the test process's <c>SLURM_CONF</c>.</summary>
    public static async Task<Result> RunAsync(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    /// <summary>One job as <c>squeue -t all</c> shows it (finished jobs stay listed for MinJobAge).</summary>
    public sealed record Job(string Id, string Name, string State, string NodeList);

    /// <summary>Every job Slurm knows, finished ones included, optionally only those named <paramref name="name"/>.</summary>
    public static async Task<List<Job>> JobsAsync(string? name = null)
    {
        List<string> arguments = ["-h", "-t", "all", "-o", "%i|%j|%T|%N"];
        if (name is not null)
            arguments.AddRange(["-n", name]);
        var result = await RunAsync("squeue", [.. arguments]);
        result.ExitCode.ShouldBe(0, result.Error);
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('|'))
            .Select(f => new Job(f[0].Trim(), f[1].Trim(), f[2].Trim(), f[3].Trim()))
            .ToList();
    }

    /// <summary>Jobs still in the queue (pending or running), as plain <c>squeue</c> lists them.</summary>
    public static async Task<List<Job>> QueuedAsync(string? name = null) =>
        (await JobsAsync(name)).Where(j => j.State is "PENDING" or "CONFIGURING" or "RUNNING" or "COMPLETING" or "SUSPENDED").ToList();

    /// <summary>What plain <c>squeue -j</c> prints for a job: its state while queued or running, nothing once it has finished.</summary>
    public static async Task<string> SqueueStateAsync(string id) => (await RunAsync("squeue", "-h", "-j", id, "-o", "%T")).Output;

    /// <summary>The <c>Key=Value</c> fields of <c>scontrol -o show job</c>.</summary>
    public static async Task<Dictionary<string, string>> ShowJobAsync(string id)
    {
        var result = await RunAsync("scontrol", "-o", "show", "job", id);
        result.ExitCode.ShouldBe(0, result.Error);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in result.Output.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (pair.IndexOf('=', StringComparison.Ordinal) is var equals and > 0)
                fields[pair[..equals]] = pair[(equals + 1)..];
        return fields;
    }

    /// <summary><c>sinfo</c>'s short state of a node: idle, mix, alloc, down*, …</summary>
    public static async Task<string> NodeStateAsync(string node) => (await RunAsync("sinfo", "-h", "-N", "-n", node, "-o", "%t")).Output;

    /// <summary>
    /// Waits until every node is idle (up, nothing running or still being cleaned up), so a test that counts on the
    /// whole cluster's room is not disturbed by what the previous test was stopping.
    /// </summary>
    public static async Task WaitAllIdleAsync(int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var states = await Task.WhenAll(Nodes.Select(NodeStateAsync));
            if (states.All(s => s == "idle"))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Slurm nodes not all idle within {seconds} s: {string.Join(", ", states)}; queue: "
                                           + string.Join(", ", (await QueuedAsync()).Select(j => $"{j.Id} {j.Name} {j.State} {j.NodeList}")));
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// A node crash: its slurmd is killed (SIGKILL), and so is every process of the jobs it was running (their
    /// slurmstepd and the programs, found by <c>SLURM_JOB_ID</c> in their environment), as a machine that dies takes
    /// them with it. Slurm notices when the slurmd stops answering (~16–18 s with the test slurm.conf).
    /// </summary>
    public static async Task<List<string>> CrashNodeAsync(string node)
    {
        var jobs = (await QueuedAsync()).Where(j => j.NodeList == node).Select(j => j.Id).ToList();
        var pidFile = Path.Combine(Dir, $"slurmd-{node}.pid");
        var slurmd = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        Signal(slurmd, SigKill);
        // Everything is frozen first, so no slurmstepd sees its program die and reports the job as failed: the node is
        // simply gone, as with a crash.
        var processes = JobProcesses(jobs);
        foreach (var pid in processes)
            Signal(pid, SigStop);
        foreach (var pid in processes)
            Signal(pid, SigKill);
        return jobs;
    }

    /// <summary>Starts the node's slurmd again (<c>slurmd -f $SLURM_CONF -N node</c>) and waits until it takes jobs.</summary>
    public static async Task RestartNodeAsync(string node)
    {
        var pidFile = Path.Combine(Dir, $"slurmd-{node}.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var old) && Alive(old)
            && File.ReadAllText($"/proc/{old}/cmdline").Contains("slurmd", StringComparison.Ordinal))
            return;
        var started = await RunAsync("slurmd", "-f", Environment.GetEnvironmentVariable("SLURM_CONF")!, "-N", node);
        started.ExitCode.ShouldBe(0, started.Error);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await NodeStateAsync(node)).StartsWith("idle", StringComparison.Ordinal) && !(await NodeStateAsync(node)).StartsWith("mix", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"node {node} is '{await NodeStateAsync(node)}' 30 s after its slurmd was restarted");
            await Task.Delay(250);
        }
    }

    /// <summary>Processes (slurmstepd and the programs it runs) of the given Slurm jobs on this host.</summary>
    public static List<int> JobProcesses(IReadOnlyCollection<string> jobIds)
    {
        var pids = new List<int>();
        if (jobIds.Count == 0)
            return pids;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (jobIds.Any(id => cmdline.StartsWith($"slurmstepd: [{id}.", StringComparison.Ordinal) || environ.Contains($"SLURM_JOB_ID={id}")))
                    pids.Add(pid);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    private const int SigKill = 9;
    private const int SigStop = 19;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static void Signal(int pid, int signal) => kill(pid, signal);   // a process already gone is fine

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}");
}

/// <summary>
/// The Slurm tests share one cluster of three small nodes, and one of them crashes a node: they run one at a time,
/// and not alongside the rest of the suite.
/// </summary>
[CollectionDefinition("slurm", DisableParallelization = true)]
public sealed class SlurmCollection;
