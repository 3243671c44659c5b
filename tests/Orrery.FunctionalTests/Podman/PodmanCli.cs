using System.Diagnostics;

namespace Orrery.FunctionalTests.Podman;

/// <summary>podman as the tests use it to look behind the backend, with the test process's <c>CONTAINERS_CONF</c>.</summary>
public static class PodmanCli
{
    public static string BaseImage => Environment.GetEnvironmentVariable("ORRERY_PODMAN_BASE_IMAGE") ?? "";

    /// <summary>Why the Podman tests cannot run here, or null when they can (asked once: podman takes a moment).</summary>
    public static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (Environment.GetEnvironmentVariable("ORRERY_TEST_PODMAN") != "1")
            return "Podman tests run with ORRERY_TEST_PODMAN=1 and the base image of scripts/podman.sh base-image (ORRERY_PODMAN_BASE_IMAGE).";
        if (BaseImage.Length == 0)
            return "ORRERY_PODMAN_BASE_IMAGE is not set; use: eval \"$(scripts/podman.sh env)\".";
        var exists = RunAsync("image", "exists", BaseImage).GetAwaiter().GetResult();
        return exists.ExitCode == 0 ? null : $"podman has no image {BaseImage}; build it with scripts/podman.sh base-image. {exists.Error}";
    });

    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("podman") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return new Result(process.ExitCode, (await output).Trim(), (await error).Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new Result(-1, "", e.Message);
        }
    }
}
