using System.Globalization;
using System.Text;
using Orrery.Core.Compute;

namespace Orrery.Backends.Slurm;

/// <summary>
/// The batch script of one resource. sbatch runs with a bare environment and <c>--export=ALL</c> (see
/// <see cref="SlurmCommands.RunAsync"/>), so the program sees PATH, LANG, SLURM_CONF, Slurm's own SLURM_* variables
/// and the launch's variables, close to the local backend. The script runs the program as a child (never
/// through a shell's word splitting: every word is quoted), passes SIGTERM on so <c>scancel</c> stops it politely,
/// and writes the exit status to a file next to the output, which outlives Slurm's memory of the job.
/// </summary>
internal static class SlurmBatchScript
{
    public const string ExitFileName = "exit-status";
    public const string OutputFileName = "output.log";
    public const string ScriptFileName = "job.sh";

    public static string Write(LaunchSpec spec, string directory, string workingDirectory)
    {
        var script = new StringBuilder("#!/bin/sh\n");
        script.Append("# Orrery resource ").Append(spec.ResourceId).Append('\n');
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["LANG"] = Environment.GetEnvironmentVariable("LANG") ?? "C.UTF-8",
        };
        foreach (var (key, value) in spec.Environment)
            environment[key] = value;
        foreach (var (key, value) in environment)
            script.Append("export ").Append(key).Append('=').Append(Quote(value)).Append('\n');
        script.Append("cd ").Append(Quote(workingDirectory)).Append(" || exit 127\n");
        script.Append(string.Join(' ', spec.Command.Select(Quote))).Append(" &\n");
        script.Append("""
            child=$!
            trap 'kill -TERM $child 2>/dev/null' TERM INT
            wait $child; status=$?
            while kill -0 $child 2>/dev/null; do wait $child; status=$?; done

            """);
        var exit = Path.Combine(directory, ExitFileName);
        script.Append("echo $status > ").Append(Quote(exit + ".tmp")).Append(" && mv ").Append(Quote(exit + ".tmp")).Append(' ').Append(Quote(exit)).Append('\n');
        script.Append("exit $status\n");
        return script.ToString();
    }

    /// <summary>sbatch's options for a launch: name, output, resources, placement.</summary>
    public static List<string> SbatchArguments(LaunchSpec spec, string directory, string workingDirectory, SlurmBackendOptions options)
    {
        var arguments = new List<string>
        {
            // --no-requeue: after a node failure Slurm would otherwise put the job back in the queue (PENDING, to run again
            // minutes later under the same handle) where Orrery sees neither an end nor a running process; Orrery replaces
            // or retries what ended itself, so the job must end (NODE_FAIL).
            "--parsable", "--export=ALL", "--no-requeue", $"--job-name=orrery-{spec.ResourceId}",
            $"--output={Path.Combine(directory, OutputFileName)}", "--open-mode=append", $"--chdir={workingDirectory}",
        };
        if (spec.Resources.Cores is { } cores)
            arguments.Add($"--cpus-per-task={Math.Max(1, (int)Math.Ceiling(cores))}");
        if (spec.Resources.MemoryBytes is { } memory)
            arguments.Add($"--mem={Math.Max(1, (long)Math.Ceiling(memory / 1048576.0))}M");
        if (spec.Resources.TimeLimit is { } limit)
            arguments.Add($"--time={Math.Max(1, (int)Math.Ceiling(limit.TotalMinutes)).ToString(CultureInfo.InvariantCulture)}");
        Add(arguments, "partition", spec, options.Partition);
        Add(arguments, "account", spec, options.Account);
        Add(arguments, "qos", spec, options.Qos);
        Add(arguments, "nodelist", spec, "");
        Add(arguments, "exclude", spec, "");
        arguments.Add(Path.Combine(directory, ScriptFileName));
        return arguments;
    }

    private static void Add(List<string> arguments, string option, LaunchSpec spec, string fallback)
    {
        var value = spec.Placement.TryGetValue(option, out var placed) && placed.Length > 0 ? placed : fallback;
        if (value.Length > 0)
            arguments.Add($"--{option}={value}");
    }

    /// <summary>One shell word: single quotes, with each quote written as '\''.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
