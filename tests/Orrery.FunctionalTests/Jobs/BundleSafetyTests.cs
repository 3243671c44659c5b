using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Jobs;

public sealed class SmallBundleFixture : JobsFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Fast(new Dictionary<string, string?>
    {
        ["Orrery:Jobs:MaxBundleSize"] = "64K",
    });
}

/// <summary>
/// Hostile and malformed code bundles through the API: each is a 4xx <c>{"detail"}</c> naming the problem, and
/// nothing is created or run — no job, no pod, no process, no file outside the working directory.
/// </summary>
public class BundleSafetyTests(SmallBundleFixture fixture) : IClassFixture<SmallBundleFixture>
{
    private const int SymlinkMode = 0xA1FF;   // S_IFLNK | 0777
    private const int CharDeviceMode = 0x21A4;   // S_IFCHR | 0644

    private OrreryTestServer Server => fixture.Server;

    public static TheoryData<string, string> Rejected => new()
    {
        { "zip-slip", "paths must stay inside the working directory" },
        { "absolute", "absolute paths are not allowed" },
        { "symlink", "symlinks are not allowed" },
        { "device", "device files are not allowed" },
        { "base64", "code is not valid base64" },
        { "not-a-zip", "code is not a valid zip file" },
        { "too-big", "larger than the limit" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task Submit_UnsafeBundle_4xxNamingIt_NothingCreatedOrRun(string kind, string expected)
    {
        var (name, _, kbatch) = await fixture.UserAsync("bundle");
        using var _ = kbatch;
        var unique = Guid.NewGuid().ToString("N");
        var escaped = Path.Combine(Path.GetTempPath(), $"evil-{unique}.sh");
        var jobsDir = Path.Combine(Server.DataDir, "jobs");
        var before = Directory.Exists(jobsDir) ? Directory.GetDirectories(jobsDir).Length : 0;
        var run = Encoding.UTF8.GetBytes($"touch {escaped}\n");

        var code = kind switch
        {
            "zip-slip" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(KbatchBodies.Zip(a =>
            {
                KbatchBodies.Add(a, "run.sh", run);
                // From <pod>/code, ../../../.. reaches the jobs directory's parent and beyond.
                KbatchBodies.Add(a, $"../../../../../../../../../../..{Path.GetTempPath()}evil-{unique}.sh", run);
            }))),
            "absolute" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(KbatchBodies.Zip(a =>
            {
                KbatchBodies.Add(a, "run.sh", run);
                KbatchBodies.Add(a, escaped, run);
            }))),
            "symlink" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(KbatchBodies.Zip(a =>
            {
                KbatchBodies.Add(a, "run.sh", run);
                KbatchBodies.Add(a, "link", Encoding.UTF8.GetBytes("/etc/passwd"), unixMode: SymlinkMode);
            }))),
            "device" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(KbatchBodies.Zip(a =>
            {
                KbatchBodies.Add(a, "run.sh", run);
                KbatchBodies.Add(a, "null", [], unixMode: CharDeviceMode);
            }))),
            "base64" => KbatchBodies.CodeBase64("bad", "this is *not* base64!"),
            "not-a-zip" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(Encoding.UTF8.GetBytes("just some text, not a zip file"))),
            "too-big" => KbatchBodies.CodeBase64("bad", Convert.ToBase64String(KbatchBodies.Zip(a =>
            {
                KbatchBodies.Add(a, "run.sh", run);
                var noise = new byte[100 << 10];
                Random.Shared.NextBytes(noise);
                KbatchBodies.Add(a, "noise.bin", noise, CompressionLevel.NoCompression);
            }))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var body = KbatchBodies.Job("bad", ["sh", "run.sh"]);
        body["code"] = code;

        var response = await kbatch.PostAsync("jobs/", body);
        var status = (int)response.StatusCode;
        status.ShouldBeInRange(400, 499);
        var detail = await Kbatch.DetailAsync(response, status);
        detail.ShouldContain(expected);
        if (kind is "zip-slip" or "absolute" or "symlink" or "device")
            detail.ShouldContain("code bundle entry");
        if (kind == "too-big")
        {
            status.ShouldBe(413);
            detail.ShouldContain("Orrery:Jobs:MaxBundleSize");
        }

        // The same bundle as a cron job is refused the same way.
        var cron = KbatchBodies.CronJob("bad", "*/5 * * * *", ["sh", "run.sh"]);
        cron["code"] = code.DeepClone();
        (await Kbatch.DetailAsync(await kbatch.PostAsync("cronjobs/", cron), status)).ShouldContain(expected);

        (await kbatch.JobsAsync()).ShouldBeEmpty();
        (await kbatch.PodsAsync("")).ShouldBeEmpty();
        (await JobProcesses.JobRowsAsync(Server, name)).ShouldBeEmpty();
        (await (await kbatch.GetAsync("cronjobs/")).JsonAsync()).GetProperty("items").GetArrayLength().ShouldBe(0);
        await Task.Delay(500);   // a few reconcile passes: still nothing launched
        (await JobProcesses.ResourceCountAsync(Server, name)).ShouldBe(0);
        File.Exists(escaped).ShouldBeFalse();
        (Directory.Exists(jobsDir) ? Directory.GetDirectories(jobsDir).Length : 0).ShouldBe(before);
    }

    [Fact]
    public async Task Submit_BodyFarOverTheBundleLimit_413Detail()
    {
        var (name, _, kbatch) = await fixture.UserAsync("huge");
        using var _ = kbatch;
        var body = KbatchBodies.Job("huge", ["true"]);
        body["code"] = KbatchBodies.CodeBase64("huge", new string('A', 6 << 20));
        // Refused from its Content-Length before the body is read: a client that waits for 100-continue (curl does
        // for large bodies) gets the answer; one that sends the body regardless sees the connection closed on it.
        kbatch.Http.DefaultRequestHeaders.ExpectContinue = true;
        var response = await kbatch.PostAsync("jobs/", body);
        (await Kbatch.DetailAsync(response, 413)).ShouldContain("Orrery:Jobs:MaxBundleSize");
        (await JobProcesses.JobRowsAsync(Server, name)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Bundle_UnderTheLimit_Runs_ExecutableBitKept()
    {
        var (_, _, kbatch) = await fixture.UserAsync("small");
        using var _ = kbatch;
        var zip = KbatchBodies.Zip(a =>
        {
            KbatchBodies.Add(a, "run.sh", "#!/bin/sh\necho ran-$(cat data/x.txt)\n"u8.ToArray(), unixMode: 0x81ED);
            a.CreateEntry("data/");
            KbatchBodies.Add(a, "data/x.txt", "42"u8.ToArray());
        });
        var jobName = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("small", ["./run.sh"], code: zip)));
        var done = await kbatch.WaitFinishedAsync(jobName);
        KbatchTable.Status(done).ShouldBe("done");
        (await kbatch.LogsAsync($"jobs/logs/{jobName}/")).ShouldBe("ran-42\n");
    }

    [Fact]
    public async Task Profiles_NoneConfigured_EmptyObject()
    {
        using var anonymous = Server.Client();
        var response = await anonymous.GetAsync(Kbatch.Prefix + "profiles/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldBe("{}");
    }

    [Fact]
    public void CodeBody_IsWhatKbatchSends()
    {
        var body = KbatchBodies.Job("x", ["true"], code: KbatchBodies.SingleFile("x.py", "print(1)"));
        var code = body["code"]!.AsObject();
        code["kind"]!.GetValue<string>().ShouldBe("ConfigMap");
        code["metadata"]!["generate_name"]!.GetValue<string>().ShouldBe("x");
        code["data"].ShouldBeNull();
        using var zip = new ZipArchive(new MemoryStream(Convert.FromBase64String(code["binary_data"]!["code"]!.GetValue<string>())));
        zip.Entries.Single().FullName.ShouldBe("x.py");
        body["job"]!["metadata"]!["generate_name"]!.GetValue<string>().ShouldBe("x-");
        ((JsonObject)body["job"]!).ContainsKey("status").ShouldBeTrue();
    }
}
