using System.Diagnostics;

namespace Orrery.Backends.Slurm;

/// <summary>Runs Slurm's command-line tools (never through a shell) and returns their output.</summary>
internal sealed class SlurmCommands(SlurmBackendOptions options)
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public async Task<Result> RunAsync(string tool, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.BinDir.Length == 0 ? tool : Path.Combine(options.BinDir, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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
