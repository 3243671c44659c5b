using System.ComponentModel;
using System.Diagnostics;

namespace Orrery.Backends.Podman;

/// <summary>
/// Runs podman (never through a shell) with Orrery's environment plus <c>CONTAINERS_CONF</c> and the variables a
/// caller adds. Every outcome is a value: podman missing, a timeout or a refusal come back as a non-zero exit code
/// with podman's (or our) message, so a backend call never throws for podman's sake.
/// </summary>
internal sealed class PodmanCommands(PodmanBackendOptions options)
{
    /// <summary>Exit code used for failures of the command itself (not started, timed out): podman never returns it.</summary>
    public const int NotRun = -1;

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public bool Succeeded => ExitCode == 0;

        /// <summary>podman's own message, for reasons and refusals.</summary>
        public string Message => Error.Length > 0 ? Error : Output.Length > 0 ? Output : $"podman exited with status {ExitCode}";

        /// <summary>podman's answer when the container is gone (its wording for inspect, stop and rm alike).</summary>
        public bool NoSuchContainer => !Succeeded && Error.Contains("no such container", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The start info of one podman command; also used for the long-running <c>podman events</c>.</summary>
    public ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(options.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,   // podman never waits on a terminal or on Orrery's own stdin
            UseShellExecute = false,
        };
        if (options.ConfigFile.Length > 0)
            start.Environment["CONTAINERS_CONF"] = Path.GetFullPath(options.ConfigFile);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return start;
    }

    /// <param name="environment">Added to podman's own environment (values <c>podman run -e NAME</c> reads from it).</param>
    /// <param name="extraTime">Added to <see cref="PodmanBackendOptions.CommandTimeout"/> (a stop's grace period).</param>
    public async Task<Result> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan extraTime = default)
    {
        using var process = new Process { StartInfo = StartInfo(arguments, environment) };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            return new Result(NotRun, "", $"could not run '{options.Program}': {e.Message}");
        }
        process.StandardInput.Close();
        var timeout = options.CommandTimeout + extraTime;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // A podman left running would go on acting on the container after we have given up on it.
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended in the meantime.
            }
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new Result(NotRun, "", $"podman {arguments[0]} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        return new Result(process.ExitCode, (await output).Trim(), (await error).Trim());
    }
}
