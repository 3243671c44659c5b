using Orrery.FunctionalTests.Infrastructure;
using Orrery.FunctionalTests.Jobs;

namespace Orrery.FunctionalTests.Slurm;

/// <summary>
/// Orrery restarts while its jobs run on Slurm: Slurm keeps running them, and the new Orrery re-attaches by the job id
/// in the handle — the one still running ends done with every line of its log, the one that ended while Orrery was
/// down gets its real exit status.
/// </summary>
[Collection("slurm")]
public sealed class SlurmRestartTests
{
    [SlurmFact]
    public async Task OrreryRestarts_SlurmJobsReattachedById_RealExitStatusAndCompleteLogs()
    {
        var go = Path.Combine(Path.GetTempPath(), "orrery-slurm-go-" + Guid.NewGuid().ToString("N"));
        var server = await OrreryTestServer.StartAsync(SlurmCluster.Settings(new Dictionary<string, string?> { ["Orrery:Jobs:Backend"] = "slurm" }));
        try
        {
            var (_, token) = await server.CreateUserAsync("slurm-restart");
            string writer, exiter, writerSlurmId, exiterSlurmId;
            var writerScript = $"for i in $(seq 1 10); do echo \"line $i\"; sleep 0.1; done; while [ ! -f {go} ]; do sleep 0.1; done; "
                               + "for i in $(seq 11 20); do echo \"line $i\"; done";
            using (var kbatch = new Kbatch(server.Client(token)))
            {
                writer = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("writer", ["sh", "-c", writerScript])));
                exiter = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("exiter", ["sh", "-c", $"echo going; while [ ! -f {go}.exit ]; do sleep 0.1; done; exit 4"])));
                await kbatch.WaitForAsync(writer, j => Kbatch.Count(j, "ready") == 1);
                await kbatch.WaitForAsync(exiter, j => Kbatch.Count(j, "ready") == 1);
                await Eventually.TrueAsync(async () => (await kbatch.LogsAsync($"jobs/logs/{writer}/")).Contains("line 10\n", StringComparison.Ordinal));
                (_, writerSlurmId) = await SlurmJobsTests.SlurmJobOfAsync(server, Kbatch.Name((await kbatch.PodsAsync(writer)).Single()));
                (_, exiterSlurmId) = await SlurmJobsTests.SlurmJobOfAsync(server, Kbatch.Name((await kbatch.PodsAsync(exiter)).Single()));
            }

            // Orrery stops (keeping its data); the exiter ends while it is down, and Slurm records it.
            await server.DisposeWithoutCleanupAsync();
            await File.WriteAllTextAsync(go + ".exit", "");
            await Eventually.TrueAsync(async () => await SlurmCluster.SqueueStateAsync(exiterSlurmId) == "");
            (await SlurmCluster.SqueueStateAsync(writerSlurmId)).ShouldBe("RUNNING");

            server = await server.RestartAsync();
            using var again = new Kbatch(server.Client(token));
            KbatchTable.Status(await again.JobAsync(writer)).ShouldBe("running");
            var failed = await again.WaitFinishedAsync(exiter);
            KbatchTable.Status(failed).ShouldBe("failed");
            (await again.PodsAsync(exiter)).Single().GetProperty("status").GetProperty("container_statuses")[0].GetProperty("state")
                .GetProperty("terminated").GetProperty("exit_code").GetInt32().ShouldBe(4);
            (await again.LogsAsync($"jobs/logs/{exiter}/")).ShouldBe("going\n");

            // The same Slurm job, still followed: it finishes after the restart with all its lines.
            (await SlurmJobsTests.SlurmJobOfAsync(server, Kbatch.Name((await again.PodsAsync(writer)).Single()))).SlurmJobId.ShouldBe(writerSlurmId);
            await File.WriteAllTextAsync(go, "");
            var done = await again.WaitFinishedAsync(writer);
            KbatchTable.Status(done).ShouldBe("done");
            (await again.LogsAsync($"jobs/logs/{writer}/")).ShouldBe(string.Concat(Enumerable.Range(1, 20).Select(i => $"line {i}\n")));
            (await SlurmCluster.ShowJobAsync(writerSlurmId))["JobState"].ShouldBe("COMPLETED");
        }
        finally
        {
            // Whatever happened, the jobs may end (they wait for these files), and Orrery's leftovers are scancelled.
            await File.WriteAllTextAsync(go, "");
            await File.WriteAllTextAsync(go + ".exit", "");
            await server.DisposeAsync();
            File.Delete(go);
            File.Delete(go + ".exit");
        }
    }
}
