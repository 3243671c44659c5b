using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Orrery.Backends.Podman;

/// <summary>
/// Follows <c>podman events</c> for containers dying and reports those Orrery started (they carry the resource label),
/// so the reconciler records an end at once rather than at its next interval. One podman process for all containers,
/// started with the first launch or observation; restarted when it ends. Purely an accelerator: without it (events
/// unavailable) ends are still seen by observation.
/// </summary>
internal sealed class PodmanEndWatcher(PodmanCommands commands, Action ended, ILogger logger) : IDisposable
{
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _loop;

    public void EnsureStarted()
    {
        lock (_gate)
        {
            if (_loop is null && !_stop.IsCancellationRequested)
                _loop = Task.Run(() => FollowAsync(_stop.Token));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
                return;
            _stop.Cancel();
        }
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation.
        }
        _stop.Dispose();
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await FollowOnceAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
            {
                logger.EventsFailed(e.Message);
            }
            try
            {
                await Task.Delay(RestartDelay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task FollowOnceAsync(CancellationToken cancellationToken)
    {
        using var process = new Process
        {
            StartInfo = commands.StartInfo(["events", "--filter", "type=container", "--filter", "event=died", "--format", "json"]),
        };
        process.Start();
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        await using var stopping = cancellationToken.Register(() => Kill(process));
        while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (IsOurs(line))
                ended();
        }
        await process.WaitForExitAsync(CancellationToken.None);
        if (!cancellationToken.IsCancellationRequested)
            logger.EventsEnded(process.ExitCode, (await errors).Trim());
    }

    /// <summary>A died event of a container with Orrery's resource label (any other container's end is none of ours).</summary>
    internal static bool IsOurs(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.TryGetProperty("Attributes", out var attributes)
                   && attributes.ValueKind == JsonValueKind.Object && attributes.TryGetProperty(PodmanRun.ResourceLabel, out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already ended.
        }
    }
}
