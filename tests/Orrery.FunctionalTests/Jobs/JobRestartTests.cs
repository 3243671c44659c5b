using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Jobs;

/// <summary>
/// Orrery is killed (SIGKILL, as a crash or the OOM killer would) while jobs run, and started again on the same
/// data: a job still running is re-attached and ends <c>done</c> with every line of its log; a job that ended
/// while Orrery was down gets its real exit status.
/// </summary>
public class JobRestartTests
{
    private const string AdminToken = "jobs-restart-admin-token-0123456789";

    private static readonly Dictionary<string, string> Environment = new()
    {
        ["ORRERY_ADMIN_TOKEN"] = AdminToken,
        ["Orrery__Jobs__ReconcileInterval"] = "00:00:00.200",
        ["Orrery__Compute__ReconcileInterval"] = "00:00:00.200",
        ["Orrery__Compute__StopGrace"] = "00:00:02",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    [Fact]
    public async Task OrreryKilled_RunningJobReattachedWithCompleteLogs_ExitWhileDownRecorded()
    {
        var dataDir = Directory.CreateTempSubdirectory("orrery-jobs-restart-").FullName;
        // The writer writes for ~6 s (through Orrery's death), then waits for the test's go-ahead after the restart,
        // so it is certainly still running when the new Orrery looks at it.
        var go = JobsApiTests.GoFile();
        try
        {
            string token, writer, exiter, writerPod;
            List<int> writerPids;
            Stopwatch exiterRunning;
            var script = $"for i in $(seq 1 30); do echo \"line $i\"; sleep 0.2; done; while [ ! -f {go} ]; do sleep 0.1; done; "
                         + "for i in $(seq 31 40); do echo \"line $i\"; done";
            await using (var first = await ServerProcess.StartAsync(dataDir, Environment))
            {
                token = await CreateUserAsync(first, "restart-" + Guid.NewGuid().ToString("N")[..8]);
                using var kbatch = new Kbatch(first.Client(token));
                writer = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("writer", ["sh", "-c", script])));
                exiter = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("exiter", ["sh", "-c", "echo going; sleep 2; exit 3"])));
                await kbatch.WaitForAsync(exiter, j => Kbatch.Count(j, "ready") == 1);
                exiterRunning = Stopwatch.StartNew();
                await kbatch.WaitForAsync(writer, j => Kbatch.Count(j, "ready") == 1);
                await Eventually.TrueAsync(async () => (await kbatch.LogsAsync($"jobs/logs/{writer}/")).Contains("line 2", StringComparison.Ordinal));
                writerPod = Kbatch.Name((await kbatch.PodsAsync(writer)).Single());
                // The backend's wrapper shell and the job's own shell.
                writerPids = Pids(cmdline => cmdline.Contains(go, StringComparison.Ordinal));
                writerPids.ShouldNotBeEmpty();

                // SIGKILL the Orrery process only: its jobs run in their own sessions and must survive it. The exiter is
                // still running then, so it ends while Orrery is down.
                Kbatch.Count(await kbatch.JobAsync(exiter), "ready").ShouldBe(1);
                var pid = OrreryPid(dataDir);
                using (var orrery = Process.GetProcessById(pid))
                {
                    orrery.Kill();   // SIGKILL, this process alone
                    await orrery.WaitForExitAsync();
                }
            }

            // The exiting job ends while Orrery is down.
            var left = TimeSpan.FromSeconds(3) - exiterRunning.Elapsed;
            if (left > TimeSpan.Zero)
                await Task.Delay(left);

            await using var second = await ServerProcess.StartAsync(dataDir, Environment);
            using var again = new Kbatch(second.Client(token));

            // Still the same process, followed by the new Orrery: running, the same one pod.
            Pids(cmdline => cmdline.Contains(go, StringComparison.Ordinal)).ShouldBe(writerPids);
            KbatchTable.Status(await again.JobAsync(writer)).ShouldBe("running");
            Kbatch.Name((await again.PodsAsync(writer)).Single()).ShouldBe(writerPod);
            (await again.PodsAsync(writer)).Single().GetProperty("status").GetProperty("phase").GetString().ShouldBe("Running");
            await File.WriteAllTextAsync(go, "");
            var done = await again.WaitFinishedAsync(writer, seconds: 40);
            KbatchTable.Status(done).ShouldBe("done");
            var log = await again.LogsAsync($"jobs/logs/{writer}/");
            log.ShouldBe(string.Concat(Enumerable.Range(1, 40).Select(i => $"line {i}\n")));

            var failed = await again.WaitFinishedAsync(exiter);
            JobsApiTests.CheckStatusShape(failed);
            KbatchTable.Status(failed).ShouldBe("failed");
            Kbatch.Count(failed, "failed").ShouldBe(1);
            var pod = (await again.PodsAsync(exiter)).Single();
            pod.GetProperty("status").GetProperty("phase").GetString().ShouldBe("Failed");
            pod.GetProperty("status").GetProperty("container_statuses")[0].GetProperty("state").GetProperty("terminated")
                .GetProperty("exit_code").GetInt32().ShouldBe(3);
            failed.GetProperty("status").GetProperty("conditions").EnumerateArray()
                .Single(c => c.GetProperty("type").GetString() == "Failed").GetProperty("message").GetString()!.ShouldContain("status 3");
            (await again.LogsAsync($"jobs/logs/{exiter}/")).ShouldBe("going\n");
        }
        finally
        {
            await File.WriteAllTextAsync(go, "");
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<string> CreateUserAsync(ServerProcess server, string name)
    {
        using var admin = server.Client(AdminToken);
        (await admin.PostAsJsonAsync($"hub/api/users/{name}", new { })).EnsureSuccessStatusCode();
        var created = await admin.PostAsJsonAsync($"hub/api/users/{name}/tokens", new { note = "kbatch" });
        created.EnsureSuccessStatusCode();
        return (await created.JsonAsync()).GetProperty("token").GetString()!;
    }

    /// <summary>The server process started in <paramref name="dataDir"/> (ServerProcess runs it there).</summary>
    private static int OrreryPid(string dataDir) =>
        Pids(cmdline => cmdline.Contains("Orrery.Server.dll", StringComparison.Ordinal), dataDir).ShouldHaveSingleItem();

    /// <summary>Live processes whose command line matches (and whose working directory is <paramref name="cwd"/>, if given).</summary>
    private static List<int> Pids(Func<string, bool> matches, string? cwd = null)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == System.Environment.ProcessId)
                continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (cmdline.Length == 0 || stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') || !matches(cmdline))
                    continue;
                if (cwd is null || new DirectoryInfo(Path.Combine(dir, "cwd")).ResolveLinkTarget(returnFinalTarget: false)?.FullName == cwd)
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return found;
    }
}
