using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Jobs;

public sealed class ShortRetentionFixture : JobsFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Fast(new Dictionary<string, string?>
    {
        ["Orrery:Jobs:Retention"] = "00:00:02",
    });
}

/// <summary>kbatch's TTL after finished: the job, its pods and its logs stay for the retention period, then go.</summary>
public class RetentionTests(ShortRetentionFixture fixture) : IClassFixture<ShortRetentionFixture>
{
    [Fact]
    public async Task FinishedJob_GoneAfterRetention_WithItsLogs()
    {
        var (name, _, kbatch) = await fixture.UserAsync("ttl");
        using var _ = kbatch;
        var submitted = await kbatch.SubmitAsync(KbatchBodies.Job("ttl", ["echo", "kept for a while"]));
        submitted.GetProperty("spec").GetProperty("ttl_seconds_after_finished").GetInt32().ShouldBe(2);
        var jobName = Kbatch.Name(submitted);
        var failing = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("ttl-fail", ["sh", "-c", "exit 1"])));
        var pod = Kbatch.Name((await kbatch.PodsAsync(jobName)).Single());

        var done = await kbatch.WaitFinishedAsync(jobName);
        var finishedAt = Stopwatch.StartNew();
        KbatchTable.Status(done).ShouldBe("done");
        (await kbatch.LogsAsync($"pods/logs/{pod}/")).ShouldBe("kept for a while\n");
        string logDir;
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var handle = await scope.ServiceProvider.GetRequiredService<OrreryDb>().Resources.Where(r => r.Name == pod).Select(r => r.Handle).SingleAsync();
            logDir = JsonDocument.Parse(handle!).RootElement.GetProperty("dir").GetString()!;
        }
        Directory.Exists(logDir).ShouldBeTrue();

        await Eventually.TrueAsync(async () => await kbatch.FindJobAsync(jobName) is null, seconds: 15);
        finishedAt.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(1));
        (await Kbatch.DetailAsync(await kbatch.GetAsync($"jobs/{jobName}"), 404)).ShouldContain("not found");
        (await Kbatch.DetailAsync(await kbatch.GetAsync($"pods/logs/{pod}/"), 404)).ShouldBe($"pods \"{pod}\" not found");
        (await kbatch.PodsAsync(jobName)).ShouldBeEmpty();
        Directory.Exists(logDir).ShouldBeFalse();

        await Eventually.TrueAsync(async () => await kbatch.FindJobAsync(failing) is null, seconds: 15);
        await Eventually.TrueAsync(async () => (await JobProcesses.JobRowsAsync(fixture.Server, name)).Count == 0
                                               && await JobProcesses.ResourceCountAsync(fixture.Server, name) == 0, seconds: 15);
    }
}
