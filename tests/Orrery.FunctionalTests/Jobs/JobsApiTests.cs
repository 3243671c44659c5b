using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orrery.FunctionalTests.Infrastructure;

namespace Orrery.FunctionalTests.Jobs;

public sealed class JobsApiFixture : JobsFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Fast(new Dictionary<string, string?>
    {
        ["Orrery:Jobs:Profiles:python:Image"] = "python:3.11-slim",
        ["Orrery:Jobs:Profiles:python:Requests:cpu"] = "1",
        ["Orrery:Jobs:Profiles:python:Limits:memory"] = "2G",
    });
}

/// <summary>
/// The kbatch service's routes, authentication, shapes and real runs (protocol notes §0, §3, §4.6): what the CLI
/// sends, what it reads, and what a job sees while it runs.
/// </summary>
public partial class JobsApiTests(JobsApiFixture fixture) : IClassFixture<JobsApiFixture>
{
    private static readonly string[] JobStatusKeys =
    [
        "active", "completed_indexes", "completion_time", "conditions", "failed", "failed_indexes", "ready", "start_time", "succeeded",
        "terminating", "uncounted_terminated_pods",
    ];

    private OrreryTestServer Server => fixture.Server;

    [Fact]
    public async Task Root_And_Profiles_AnswerWithoutAuth_EitherSpelling()
    {
        using var anonymous = new Kbatch(Server.Client());
        foreach (var path in new[] { "", "/" })
        {
            var root = await anonymous.Http.GetAsync("services/kbatch" + path);
            root.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await root.Content.ReadAsStringAsync()).ShouldBe("""{"message":"kbatch"}""");
        }
        foreach (var path in new[] { "profiles/", "profiles" })
        {
            var profiles = await anonymous.GetAsync(path);
            profiles.StatusCode.ShouldBe(HttpStatusCode.OK);
            var json = await profiles.JsonAsync();
            json.Keys().ShouldBe(["python"]);
            var python = json.GetProperty("python");
            python.GetProperty("image").GetString().ShouldBe("python:3.11-slim");
            python.GetProperty("resources").GetProperty("requests").GetProperty("cpu").GetString().ShouldBe("1");
            python.GetProperty("resources").GetProperty("limits").GetProperty("memory").GetString().ShouldBe("2G");
        }
    }

    [Fact]
    public async Task Authorized_TokenOrBearer_NameAndGroups_Else401Or403()
    {
        var (name, token, kbatch) = await fixture.UserAsync("auth");
        using var _ = kbatch;
        foreach (var path in new[] { "authorized", "authorized/" })
        {
            var ok = await kbatch.GetAsync(path);
            ok.StatusCode.ShouldBe(HttpStatusCode.OK);
            var json = await ok.JsonAsync();
            json.Keys().ShouldBe(["name", "groups"]);
            json.GetProperty("name").GetString().ShouldBe(name);
            json.GetProperty("groups").ValueKind.ShouldBe(JsonValueKind.Array);
        }

        foreach (var scheme in new[] { "Bearer", "bearer", "TOKEN" })
        {
            using var other = Server.Client();
            other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, token);
            (await other.GetAsync(Kbatch.Prefix + "authorized")).StatusCode.ShouldBe(HttpStatusCode.OK, scheme);
        }

        foreach (var header in new[] { null, "token not-a-token", "Token not-a-token", "Bearer not-a-token", $"Basic {token}", "token", "token None" })
        {
            using var client = Server.Client();
            if (header is not null)
                client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);
            foreach (var path in new[] { "authorized", "jobs/", "pods/?job_name=", "cronjobs/" })
                (await Kbatch.DetailAsync(await client.GetAsync(Kbatch.Prefix + path), 401)).ShouldBe("Incorrect token", $"{header} {path}");
        }

        var narrow = await Server.CreateTokenAsync(name, new { note = "narrow", scopes = new[] { "read:users:name!user" } });
        using var narrowClient = new Kbatch(Server.Client(narrow));
        foreach (var path in new[] { "authorized", "jobs/" })
        {
            var detail = await Kbatch.DetailAsync(await narrowClient.GetAsync(path), 403);
            detail.ShouldStartWith("Not allowing request with scopes: [");
            detail.ShouldContain("Needs scope(s): {'access:services!service=kbatch'}");
        }
    }

    [Fact]
    public async Task Routes_ServedWithAndWithoutTrailingSlash()
    {
        var (_, _, kbatch) = await fixture.UserAsync("slash");
        using var _ = kbatch;
        var job = await kbatch.SubmitAsync(KbatchBodies.Job("slash", ["echo", "hello"]));
        var name = Kbatch.Name(job);
        (await kbatch.SubmitAsync(KbatchBodies.Job("slash2", ["true"]), "jobs")).GetProperty("kind").GetString().ShouldBe("Job");
        await kbatch.WaitFinishedAsync(name);
        var pod = Kbatch.Name((await kbatch.PodsAsync(name)).Single());

        foreach (var path in new[] { "jobs", "jobs/", "pods", "pods/", "pods/?job_name=", "cronjobs", "cronjobs/" })
            (await kbatch.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.OK, path);
        foreach (var path in new[] { $"jobs/{name}", $"jobs/{name}/" })
            Kbatch.Name(await (await kbatch.GetAsync(path)).JsonAsync()).ShouldBe(name, path);
        foreach (var path in new[] { $"pods/{pod}", $"pods/{pod}/" })
            Kbatch.Name(await (await kbatch.GetAsync(path)).JsonAsync()).ShouldBe(pod, path);
        foreach (var path in new[] { $"jobs/logs/{name}", $"jobs/logs/{name}/", $"pods/logs/{pod}", $"pods/logs/{pod}/" })
            (await kbatch.LogsAsync(path)).ShouldBe("hello\n", path);
    }

    [Fact]
    public async Task Submit_ListedAtOnce_WithOneLabelledPod_StatusShapes_RenderInCliTable()
    {
        var (name, _, kbatch) = await fixture.UserAsync("submit");
        using var _ = kbatch;
        var go = GoFile();
        try
        {
            var submitted = await kbatch.SubmitAsync(KbatchBodies.Job("wait", ["sh", "-c", $"echo started; while [ ! -f {go} ]; do sleep 0.1; done"]));
            submitted.GetProperty("api_version").GetString().ShouldBe("batch/v1");
            submitted.GetProperty("kind").GetString().ShouldBe("Job");
            var jobName = Kbatch.Name(submitted);
            jobName.ShouldMatch("^wait-[a-z0-9]{5}$");
            var metadata = submitted.GetProperty("metadata");
            metadata.GetProperty("generate_name").GetString().ShouldBe("wait-");
            metadata.GetProperty("namespace").GetString().ShouldBe("kbatch-" + name.Replace("_", "-", StringComparison.Ordinal));
            metadata.GetProperty("creation_timestamp").GetString()!.ShouldMatch(IsoTime);
            metadata.GetProperty("annotations").GetProperty("kbatch.jupyter.org/username").GetString().ShouldBe(name);
            CheckStatusShape(submitted);

            // Immediately listed, with its one pod (§0 item 7): scripted clients take items[0] without waiting.
            var listed = await kbatch.JobAsync(jobName);
            listed.GetProperty("metadata").GetProperty("uid").GetString().ShouldBe(metadata.GetProperty("uid").GetString());
            var pods = await kbatch.PodsAsync(jobName);
            pods.Length.ShouldBe(1);
            var pod = pods[0];
            Kbatch.Name(pod).ShouldStartWith(jobName + "-");
            var labels = pod.GetProperty("metadata").GetProperty("labels");
            labels.GetProperty("job-name").GetString().ShouldBe(jobName);
            labels.GetProperty("batch.kubernetes.io/job-name").GetString().ShouldBe(jobName);
            labels.GetProperty("controller-uid").GetString().ShouldBe(metadata.GetProperty("uid").GetString());
            var owner = pod.GetProperty("metadata").GetProperty("owner_references").EnumerateArray().Single();
            owner.GetProperty("kind").GetString().ShouldBe("Job");
            owner.GetProperty("name").GetString().ShouldBe(jobName);
            owner.GetProperty("uid").GetString().ShouldBe(metadata.GetProperty("uid").GetString());
            pod.GetProperty("status").GetProperty("phase").GetString().ShouldBeOneOf("Pending", "Running");

            // Running: ready 1, and the CLI's duration grows from start_time.
            var running = await kbatch.WaitForAsync(jobName, j => Kbatch.Count(j, "ready") == 1);
            KbatchTable.Status(running).ShouldBe("running");
            KbatchTable.Duration(running, DateTimeOffset.UtcNow.AddMinutes(2)).ShouldStartWith("0:02:");
            (await kbatch.PodsAsync(jobName))[0].GetProperty("status").GetProperty("phase").GetString().ShouldBe("Running");

            var ok = await kbatch.SubmitAsync(KbatchBodies.Job("ok", ["sh", "-c", "echo fine"]));
            var bad = await kbatch.SubmitAsync(KbatchBodies.Job("bad", ["sh", "-c", "echo oops; exit 2"]));

            // job_name= (empty) is "all the user's pods".
            var all = await kbatch.PodsAsync("");
            all.Select(p => p.GetProperty("metadata").GetProperty("labels").GetProperty("job-name").GetString())
                .ShouldBe([jobName, Kbatch.Name(ok), Kbatch.Name(bad)], ignoreOrder: true);

            var done = await kbatch.WaitFinishedAsync(Kbatch.Name(ok));
            CheckStatusShape(done);
            KbatchTable.Status(done).ShouldBe("done");
            KbatchTable.Duration(done, DateTimeOffset.UtcNow).ShouldMatch(@"^0:00:\d\d$");
            Kbatch.Count(done, "succeeded").ShouldBe(1);
            done.GetProperty("status").GetProperty("completion_time").GetString()!.ShouldMatch(IsoTime);
            done.GetProperty("status").GetProperty("conditions")[0].GetProperty("type").GetString().ShouldBe("Complete");
            var donePod = (await kbatch.PodsAsync(Kbatch.Name(ok))).Single();
            donePod.GetProperty("status").GetProperty("phase").GetString().ShouldBe("Succeeded");

            var failed = await kbatch.WaitFinishedAsync(Kbatch.Name(bad));
            CheckStatusShape(failed);
            KbatchTable.Status(failed).ShouldBe("failed");
            KbatchTable.Duration(failed, DateTimeOffset.UtcNow).ShouldMatch(@"^0:00:\d\d$");
            Kbatch.Count(failed, "failed").ShouldBe(1);
            failed.GetProperty("status").GetProperty("completion_time").ValueKind.ShouldBe(JsonValueKind.Null);
            var condition = failed.GetProperty("status").GetProperty("conditions").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "Failed");
            condition.GetProperty("reason").GetString().ShouldBe("BackoffLimitExceeded");
            condition.GetProperty("last_transition_time").GetString()!.ShouldMatch(IsoTime);
            var failedPod = (await kbatch.PodsAsync(Kbatch.Name(bad))).Single();
            failedPod.GetProperty("status").GetProperty("phase").GetString().ShouldBe("Failed");
            failedPod.GetProperty("status").GetProperty("container_statuses")[0].GetProperty("state").GetProperty("terminated")
                .GetProperty("exit_code").GetInt32().ShouldBe(2);

            // Every job in every state: the keys the CLI reads, a count above zero, start_time always set.
            foreach (var job in await kbatch.JobsAsync())
                CheckStatusShape(job);
        }
        finally
        {
            File.WriteAllText(go, "");
        }
    }

    [Fact]
    public async Task Job_RunsInCode_WithEnvironment_AndItsOwnTokenUntilItEnds()
    {
        var (name, token, kbatch) = await fixture.UserAsync("env");
        using var _ = kbatch;
        var go = GoFile();
        const string script =
            """
            echo "pwd=$(pwd)"
            echo "ls=$(ls -A | sort | tr '\n' ' ')"
            echo "data=$(cat sub/data.txt)"
            echo "home=$HOME"
            echo "my_var=$MY_VAR"
            echo "image=$JUPYTER_IMAGE"
            echo "image_spec=$JUPYTER_IMAGE_SPEC"
            echo "token=$JUPYTERHUB_API_TOKEN"
            echo "whoami=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $JUPYTERHUB_API_TOKEN" "$HUB/hub/api/user")"
            echo "kbatch=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $JUPYTERHUB_API_TOKEN" "$HUB/services/kbatch/authorized")"
            i=0; while [ ! -f "$GO" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
            echo bye
            """;
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string> { ["MY_VAR"] = secret, ["HUB"] = Server.BaseAddress.ToString().TrimEnd('/'), ["GO"] = go };
        var job = await kbatch.SubmitAsync(KbatchBodies.Job("env", ["sh", "run.sh"], env: env, image: "example/python:1",
            code: KbatchBodies.Directory(("run.sh", script), ("sub/data.txt", "payload"))));
        var jobName = Kbatch.Name(job);
        try
        {
            await kbatch.WaitForAsync(jobName, j => Kbatch.Count(j, "ready") == 1);
            Dictionary<string, string> seen = [];
            await Eventually.TrueAsync(async () =>
            {
                seen = Parse(await kbatch.LogsAsync($"jobs/logs/{jobName}/"));
                return seen.ContainsKey("kbatch");
            });
            seen["pwd"].ShouldEndWith("/code");
            seen["ls"].ShouldBe("run.sh sub ");
            seen["data"].ShouldBe("payload");
            seen["home"].ShouldNotBeNullOrEmpty();
            var userHome = Path.Combine(Server.DataDir, "homes", name);
            seen["home"].ShouldNotStartWith(userHome);
            seen["my_var"].ShouldBe(secret);
            seen["image"].ShouldBe("example/python:1");
            seen["image_spec"].ShouldBe("example/python:1");
            seen["whoami"].ShouldBe("200");
            seen["kbatch"].ShouldBe("200");   // a job may submit jobs, as with kbatch-proxy
            var jobToken = seen["token"];
            jobToken.ShouldNotBeNullOrEmpty();

            using (var asJob = Server.Client(jobToken))
            {
                var whoami = await asJob.GetAsync("hub/api/user");
                whoami.StatusCode.ShouldBe(HttpStatusCode.OK);
                (await whoami.JsonAsync()).GetProperty("name").GetString().ShouldBe(name);
            }

            // job show never reveals values: every variable points at a secret.
            var showResponse = await kbatch.GetAsync($"jobs/{jobName}");
            var shown = await showResponse.Content.ReadAsStringAsync();
            shown.ShouldNotContain(secret);
            shown.ShouldNotContain(jobToken);
            shown.ShouldNotContain(token);
            var container = JsonDocument.Parse(shown).RootElement.GetProperty("spec").GetProperty("template").GetProperty("spec")
                .GetProperty("containers")[0];
            container.GetProperty("name").GetString().ShouldBe("job");
            container.GetProperty("working_dir").GetString().ShouldBe("/code");
            var variables = container.GetProperty("env").EnumerateArray().ToList();
            variables.Select(v => v.GetProperty("name").GetString())
                .ShouldBe(["MY_VAR", "HUB", "GO", "JUPYTER_IMAGE", "JUPYTER_IMAGE_SPEC", "JUPYTERHUB_API_TOKEN"], ignoreOrder: true);
            foreach (var variable in variables)
            {
                variable.GetProperty("value").ValueKind.ShouldBe(JsonValueKind.Null);
                var reference = variable.GetProperty("value_from").GetProperty("secret_key_ref");
                reference.GetProperty("key").GetString().ShouldBe(variable.GetProperty("name").GetString());
                reference.GetProperty("name").GetString().ShouldNotBeNullOrEmpty();
            }
            (await (await kbatch.GetAsync("jobs/")).Content.ReadAsStringAsync()).ShouldNotContain(secret);

            File.WriteAllText(go, "");
            var done = await kbatch.WaitFinishedAsync(jobName);
            KbatchTable.Status(done).ShouldBe("done");
            using var after = Server.Client(jobToken);
            (await after.GetAsync("hub/api/user")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await kbatch.LogsAsync($"jobs/logs/{jobName}/")).ShouldEndWith("bye\n");
        }
        finally
        {
            File.WriteAllText(go, "");
        }
    }

    [Fact]
    public async Task Logs_WholeText_OrStreamedOneChunkPerLineWhileRunning_AndErrors()
    {
        var (_, token, kbatch) = await fixture.UserAsync("logs");
        using var _ = kbatch;
        const string script = "echo 'line 1'; echo; for i in 2 3 4 5; do sleep 0.5; echo \"line $i\"; done";
        var jobName = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("logs", ["sh", "-c", script])));
        var pod = Kbatch.Name((await kbatch.PodsAsync(jobName)).Single());

        // Streamed from the start (the pod may still be pending: the stream waits for it).
        var chunks = new List<string>();
        var finishedWhenFirstArrived = true;
        await foreach (var chunk in RawChunks.ReadAsync(Server.BaseAddress, $"{Kbatch.Prefix}pods/logs/{pod}/?stream=true", token))
        {
            if (chunks.Count == 0)
                finishedWhenFirstArrived = Kbatch.IsFinished(await kbatch.JobAsync(jobName));
            chunks.Add(chunk);
        }
        chunks.ShouldBe(["line 1", "line 2", "line 3", "line 4", "line 5"]);
        finishedWhenFirstArrived.ShouldBeFalse("the first line should arrive while the job still runs");

        await kbatch.WaitFinishedAsync(jobName);
        const string whole = "line 1\n\nline 2\nline 3\nline 4\nline 5\n";
        (await kbatch.LogsAsync($"pods/logs/{pod}/")).ShouldBe(whole);
        (await kbatch.LogsAsync($"pods/logs/{pod}/?stream=false")).ShouldBe(whole);
        (await kbatch.LogsAsync($"jobs/logs/{jobName}/")).ShouldBe(whole);
        var again = new List<string>();
        await foreach (var chunk in RawChunks.ReadAsync(Server.BaseAddress, $"{Kbatch.Prefix}jobs/logs/{jobName}/?stream=True", token))
            again.Add(chunk);
        again.ShouldBe(chunks);

        (await Kbatch.DetailAsync(await kbatch.GetAsync("pods/logs/x/"), 404)).ShouldBe("pods \"x\" not found");
        (await Kbatch.DetailAsync(await kbatch.GetAsync("jobs/logs/nope/"), 404)).ShouldContain("not found");

        // Another user's pod is not found either.
        var (_, _, other) = await fixture.UserAsync("logs-other");
        using (other)
        {
            (await Kbatch.DetailAsync(await other.GetAsync($"pods/logs/{pod}/"), 404)).ShouldBe($"pods \"{pod}\" not found");
            (await Kbatch.DetailAsync(await other.GetAsync($"jobs/{jobName}"), 404)).ShouldBe($"jobs.batch \"{jobName}\" not found");
        }
    }

    [Fact]
    public async Task Bundle_Of20MiB_AboveTheGeneralBodyLimit_IsAcceptedAndUnpacked()
    {
        var (_, _, kbatch) = await fixture.UserAsync("big");
        using var _ = kbatch;
        var data = new byte[20 << 20];
        Random.Shared.NextBytes(data);
        var zip = KbatchBodies.Zip(archive =>
        {
            KbatchBodies.Add(archive, "big.bin", data, System.IO.Compression.CompressionLevel.NoCompression);
            KbatchBodies.Add(archive, "run.sh", "wc -c < big.bin\n"u8.ToArray());
        });
        var body = KbatchBodies.Job("big", ["sh", "run.sh"], code: zip);
        body.ToJsonString().Length.ShouldBeGreaterThan(16 << 20);
        var jobName = Kbatch.Name(await kbatch.SubmitAsync(body));
        var done = await kbatch.WaitFinishedAsync(jobName, seconds: 60);
        KbatchTable.Status(done).ShouldBe("done");
        (await kbatch.LogsAsync($"jobs/logs/{jobName}/")).Trim().ShouldBe((20 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Delete_Running_GoneAtOnce_404_ProcessKilled()
    {
        var (name, _, kbatch) = await fixture.UserAsync("delete");
        using var _ = kbatch;
        var jobName = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("del", ["sh", "-c", "echo up; sleep 60"])));
        await kbatch.WaitForAsync(jobName, j => Kbatch.Count(j, "ready") == 1);
        var pod = Kbatch.Name((await kbatch.PodsAsync(jobName)).Single());
        var pid = await JobProcesses.PidAsync(Server, pod);
        JobProcesses.LiveGroupMembers(pid).ShouldNotBeEmpty();

        var deleted = await kbatch.DeleteAsync($"jobs/{jobName}");
        deleted.StatusCode.ShouldBe(HttpStatusCode.OK);
        var status = await deleted.JsonAsync();
        status.GetProperty("kind").GetString().ShouldBe("Status");
        status.GetProperty("status").GetString().ShouldBe("Success");
        status.GetProperty("details").GetProperty("name").GetString().ShouldBe(jobName);

        (await kbatch.FindJobAsync(jobName)).ShouldBeNull();
        (await Kbatch.DetailAsync(await kbatch.GetAsync($"jobs/{jobName}"), 404)).ShouldBe($"jobs.batch \"{jobName}\" not found");
        (await kbatch.PodsAsync(jobName)).ShouldBeEmpty();
        (await Kbatch.DetailAsync(await kbatch.DeleteAsync($"jobs/{jobName}"), 404)).ShouldContain("not found");

        await Eventually.TrueAsync(() => Task.FromResult(JobProcesses.LiveGroupMembers(pid).Count == 0), seconds: 15);
        await Eventually.TrueAsync(async () => (await JobProcesses.JobRowsAsync(Server, name)).Count == 0
                                               && await JobProcesses.ResourceCountAsync(Server, name) == 0, seconds: 15);
    }

    [Fact]
    public async Task Submit_Invalid_422NamingTheField_NothingCreated()
    {
        var (name, _, kbatch) = await fixture.UserAsync("invalid");
        using var _ = kbatch;
        var noImage = KbatchBodies.Job("x", ["true"], image: "");
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", noImage), 422)).ShouldContain("image");
        var noCommand = KbatchBodies.Job("x");
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", noCommand), 422)).ShouldContain("command");
        var numberEnv = KbatchBodies.Job("x", ["true"]);
        numberEnv["job"]!["spec"]!["template"]!["spec"]!["containers"]![0]!["env"] =
            System.Text.Json.Nodes.JsonNode.Parse("""[{"name": "N", "value": 3, "value_from": null}]""");
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", numberEnv), 422)).ShouldContain("env N");
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", new System.Text.Json.Nodes.JsonObject()), 422)).ShouldContain("'job'");
        var badName = KbatchBodies.Job("Bad_Name", ["true"]);
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", badName), 422)).ShouldContain("RFC 1123");
        (await kbatch.JobsAsync()).ShouldBeEmpty();
        (await JobProcesses.JobRowsAsync(Server, name)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Submit_ArgsOnly_CamelCase_ExplicitName_Conflict409()
    {
        var (_, _, kbatch) = await fixture.UserAsync("variants");
        using var _ = kbatch;
        // Several upstream examples send only args: with no image entrypoint, args alone are the argv.
        var argsOnly = Kbatch.Name(await kbatch.SubmitAsync(KbatchBodies.Job("args", args: ["sh", "-c", "echo args only"])));
        (await kbatch.WaitFinishedAsync(argsOnly)).GetProperty("status").GetProperty("succeeded").GetInt32().ShouldBe(1);
        (await kbatch.LogsAsync($"jobs/logs/{argsOnly}/")).ShouldBe("args only\n");

        // The proxy's parser accepts camelCase too.
        var camel = Camel(KbatchBodies.Job("camel", ["sh", "run.sh"], backoffLimit: 1, env: new Dictionary<string, string> { ["X"] = "camel ok" },
            code: KbatchBodies.SingleFile("run.sh", "echo $X")));
        camel["job"]!["metadata"]!.AsObject().ContainsKey("generateName").ShouldBeTrue();
        camel["code"]!.AsObject().ContainsKey("binaryData").ShouldBeTrue();
        var camelJob = await kbatch.SubmitAsync(camel);
        camelJob.GetProperty("spec").GetProperty("backoff_limit").GetInt32().ShouldBe(1);
        var camelName = Kbatch.Name(camelJob);
        camelName.ShouldStartWith("camel-");
        await kbatch.WaitFinishedAsync(camelName);
        (await kbatch.LogsAsync($"jobs/logs/{camelName}/")).ShouldBe("camel ok\n");

        // metadata.name instead of generate_name: that name exactly, once per user.
        var named = KbatchBodies.Job("ignored", ["true"]);
        named["job"]!["metadata"]!["name"] = "fixed-name";
        Kbatch.Name(await kbatch.SubmitAsync(named)).ShouldBe("fixed-name");
        (await Kbatch.DetailAsync(await kbatch.PostAsync("jobs/", named.DeepClone()), 409)).ShouldBe("jobs.batch \"fixed-name\" already exists");
        var (_, _, other) = await fixture.UserAsync("variants-other");
        using (other)
            Kbatch.Name(await other.SubmitAsync(named.DeepClone())).ShouldBe("fixed-name");
    }

    private static System.Text.Json.Nodes.JsonObject Camel(System.Text.Json.Nodes.JsonObject node)
    {
        var result = new System.Text.Json.Nodes.JsonObject();
        foreach (var (key, value) in node)
        {
            var camel = Regex.Replace(key, "_([a-z])", m => m.Groups[1].Value.ToUpperInvariant());
            result[camel] = value switch
            {
                System.Text.Json.Nodes.JsonObject child => Camel(child),
                System.Text.Json.Nodes.JsonArray array => new System.Text.Json.Nodes.JsonArray(array.Select(item =>
                    item is System.Text.Json.Nodes.JsonObject o ? (System.Text.Json.Nodes.JsonNode)Camel(o) : item?.DeepClone()).ToArray()),
                _ => value?.DeepClone(),
            };
        }
        return result;
    }

    internal static void CheckStatusShape(JsonElement job)
    {
        var status = job.GetProperty("status");
        status.Keys().ShouldBe(JobStatusKeys, ignoreOrder: true);
        new[] { "active", "ready", "failed", "succeeded" }.Select(k => Kbatch.Count(job, k) ?? 0).Max().ShouldBeGreaterThan(0);
        status.GetProperty("start_time").GetString()!.ShouldMatch(IsoTime);
        if ((Kbatch.Count(job, "succeeded") ?? 0) > 0)
            status.GetProperty("completion_time").GetString()!.ShouldMatch(IsoTime);
        if ((Kbatch.Count(job, "failed") ?? 0) > 0)
        {
            status.GetProperty("conditions").ValueKind.ShouldBe(JsonValueKind.Array);
            if (Kbatch.IsFinished(job) && (Kbatch.Count(job, "succeeded") ?? 0) == 0)
                status.GetProperty("conditions").EnumerateArray().ShouldContain(c => c.GetProperty("type").GetString() == "Failed");
        }
        job.GetProperty("metadata").GetProperty("creation_timestamp").GetString()!.ShouldMatch(IsoTime);
        KbatchTable.Row(job, DateTimeOffset.UtcNow);
    }

    internal const string IsoTime = @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$";

    internal static string GoFile() => Path.Combine(Path.GetTempPath(), "orrery-go-" + Guid.NewGuid().ToString("N"));

    private static Dictionary<string, string> Parse(string log) =>
        log.Split('\n').Where(l => l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);
}
