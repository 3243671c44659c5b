using System.Diagnostics;

namespace Orrery.Backends.Slurm;

/// <summary>Runs Slurm's command-line tools (never through a shell) and returns their output.</summary>
internal sealed class SlurmCommands(SlurmBackendOptions options)
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <param name="bareEnvironment">
    /// Run with only PATH, LANG and SLURM_CONF: sbatch passes its environment on (<c>--export=ALL</c>), so the job gets
    /// nothing of Orrery's own. (<c>--export=NONE</c> would instead make slurmd build a login environment with
    /// <c>su -</c> before every job: slower, often by a whole second, and not clean either.)
    /// </param>
    public async Task<Result> RunAsync(string tool, IEnumerable<string> arguments, CancellationToken cancellationToken, bool bareEnvironment = false)
    {
        var start = new ProcessStartInfo(options.BinDir.Length == 0 ? tool : Path.Combine(options.BinDir, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (bareEnvironment)
        {
            var keep = new[] { "PATH", "LANG", "SLURM_CONF" }.ToDictionary(k => k, Environment.GetEnvironmentVariable);
            start.Environment.Clear();
            foreach (var (key, value) in keep.Where(k => k.Value is not null))
                start.Environment[key] = value;
        }
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CommandTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not answer within {options.CommandTimeout}");
        }
        return new Result(process.ExitCode, (await output).Trim(), (await error).Trim());
    }
}
