using System.Diagnostics;
using Orrery.Backends.Slurm;
using Orrery.Core.Compute;
using Shouldly;
using Xunit;

namespace Orrery.Tests.Backends;

/// <summary>
/// The Slurm backend's parts that run without Slurm: reading squeue/scontrol text, sbatch's options, and the batch
/// script itself — run here with /bin/sh exactly as a node would run it.
/// </summary>
public class SlurmBackendPartsTests
{
    [Theory]
    [InlineData("PENDING", BackendState.Queued)]
    [InlineData("CONFIGURING", BackendState.Queued)]
    [InlineData("RUNNING", BackendState.Running)]
    [InlineData("COMPLETING", BackendState.Running)]
    [InlineData("COMPLETED", BackendState.Exited)]
    [InlineData("FAILED", BackendState.Exited)]
    [InlineData("OUT_OF_MEMORY", BackendState.Exited)]
    [InlineData("CANCELLED by 0", BackendState.Exited)]
    [InlineData("TIMEOUT", BackendState.Exited)]
    [InlineData("NODE_FAIL", BackendState.Lost)]
    public void SlurmStates_MapOntoOrrerys(string state, BackendState expected) =>
        SlurmJobState.FromState(state, null, null).State.ShouldBe(expected);

    [Fact]
    public void OutOfMemory_SaysSo()
    {
        var observed = SlurmJobState.FromState("OUT_OF_MEMORY", 0, null);
        observed.ExitCode.ShouldNotBe(0);
        observed.Reason.ShouldNotBeNull().ShouldStartWith("OUT_OF_MEMORY");
    }

    [Theory]
    [InlineData("CANCELLED by 0")]
    [InlineData("TIMEOUT")]
    [InlineData("PREEMPTED")]
    public void EndedBySlurm_NeverASuccess_EvenWithExitCodeZero(string state) =>
        SlurmJobState.FromState(state, 0, null).Succeeded.ShouldBeFalse();

    [Theory]
    [InlineData("0:0", 0)]
    [InlineData("3:0", 3)]
    [InlineData("0:9", 137)]
    [InlineData("0:15", 143)]
    [InlineData("junk", null)]
    [InlineData(null, null)]
    public void ExitCodes_StatusOrSignal(string? value, int? expected) => SlurmJobState.ExitCode(value).ShouldBe(expected);

    [Fact]
    public void ScontrolOneLine_Fields()
    {
        var fields = SlurmJobState.ParseFields("JobId=42 JobName=orrery-job-1 JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 Command=/x/job.sh");
        fields["JobState"].ShouldBe("FAILED");
        fields["ExitCode"].ShouldBe("3:0");
        fields["Reason"].ShouldBe("NonZeroExitCode");
    }

    [Fact]
    public void SbatchOptions_FromResourcesAndPlacement()
    {
        var spec = new LaunchSpec("job-abc", ["true"], new Dictionary<string, string>())
        {
            Resources = new ResourceRequest(1.5, 300L << 20, TimeSpan.FromMinutes(90)),
            Placement = new Dictionary<string, string> { ["partition"] = "gpu", ["nodelist"] = "n2" },
        };
        var args = SlurmBatchScript.SbatchArguments(spec, "/state/job-abc", "/work", new SlurmBackendOptions { Account = "geo", Partition = "debug" });
        args.ShouldContain("--parsable");
        args.ShouldContain("--export=ALL");
        args.ShouldContain("--cpus-per-task=2");
        args.ShouldContain("--mem=300M");
        args.ShouldContain("--time=90");
        args.ShouldContain("--partition=gpu");
        args.ShouldContain("--account=geo");
        args.ShouldContain("--nodelist=n2");
        args.ShouldContain("--chdir=/work");
        args[^1].ShouldBe("/state/job-abc/job.sh");
    }

    [Fact]
    public async Task BatchScript_RunsTheCommandWithExactlyItsEnvironment_AndRecordsTheExitStatus()
    {
        var dir = Directory.CreateTempSubdirectory("orrery-slurm-script-").FullName;
        try
        {
            var tricky = "it's \"quoted\" $HOME `x` \\ done";
            var spec = new LaunchSpec("job-1", ["/bin/sh", "-c", "echo \"$GREETING\"; echo \"$1\"; env | sort > env.txt; exit 7", "sh", tricky],
                new Dictionary<string, string> { ["GREETING"] = tricky });
            var script = Path.Combine(dir, SlurmBatchScript.ScriptFileName);
            await File.WriteAllTextAsync(script, SlurmBatchScript.Write(spec, dir, dir));
            using var process = Process.Start(new ProcessStartInfo("/usr/bin/env", ["-i", "/bin/sh", script])
                { RedirectStandardOutput = true })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();

            process.ExitCode.ShouldBe(7);
            output.ShouldBe($"{tricky}\n{tricky}\n");
            (await File.ReadAllTextAsync(Path.Combine(dir, SlurmBatchScript.ExitFileName))).Trim().ShouldBe("7");
            var env = await File.ReadAllLinesAsync(Path.Combine(dir, "env.txt"));
            env.ShouldContain($"GREETING={tricky}");
            env.ShouldContain(l => l.StartsWith("PATH=", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task BatchScript_PassesSigtermToTheProgram_AndRecords143()
    {
        var dir = Directory.CreateTempSubdirectory("orrery-slurm-script-").FullName;
        try
        {
            var spec = new LaunchSpec("job-2", ["/bin/sleep", "30"], new Dictionary<string, string>());
            var script = Path.Combine(dir, SlurmBatchScript.ScriptFileName);
            await File.WriteAllTextAsync(script, SlurmBatchScript.Write(spec, dir, dir));
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", [script]))!;
            await Task.Delay(500);
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
            (await File.ReadAllTextAsync(Path.Combine(dir, SlurmBatchScript.ExitFileName))).Trim().ShouldBe("143");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
