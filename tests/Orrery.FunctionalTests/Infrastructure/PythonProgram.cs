using System.Diagnostics;
using System.Text.Json;

namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>Runs a Python program with Debian's <c>/usr/bin/python3</c> and tests/clients on its path; its last output line is JSON.</summary>
public static class PythonProgram
{
    public static async Task<JsonElement> RunAsync(string program, string label, IEnumerable<string> arguments, int timeoutSeconds = 240)
    {
        var script = Path.Combine(Path.GetTempPath(), $"orrery-client-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, program);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3", [script, .. arguments])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["PYTHONPATH"] = ClientsDir();
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"python client ({label}) still running after {timeoutSeconds} s:\n{await error}");
            }
            var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            process.ExitCode.ShouldBe(0, $"python client ({label}) failed:\n{await output}\n{await error}");
            return JsonDocument.Parse(lines[^1]).RootElement.Clone();
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>tests/clients, found above the test assembly.</summary>
    public static string ClientsDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "clients", "orrery_gateway.py")))
                return Path.Combine(dir.FullName, "tests", "clients");
        throw new DirectoryNotFoundException("tests/clients not found above " + AppContext.BaseDirectory);
    }
}
