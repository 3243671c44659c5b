using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orrery.Core.Lifecycle;
using Orrery.Storage;

namespace Orrery.Servers.Spawning;

/// <summary>
/// The only code acting on personal servers: one pass over every unfinished server, one server at a time, through
/// <see cref="ServerDriver"/>. Requests wake it; while a server is starting it passes every 100 ms so readiness is
/// seen quickly. Everything it needs is in the database, so after an Orrery restart it re-attaches running
/// servers and restores their routes on its first pass.
/// </summary>
public sealed class ServerReconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServersOptions> options,
    ILogger<ServerReconciler> logger) : BackgroundService
{
    private static readonly TimeSpan StartingPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Completes after the next pass ends, or after <paramref name="timeout"/>.</summary>
    public async Task NextPassAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var passed = Volatile.Read(ref _passed).Task;
        await Task.WhenAny(passed, Task.Delay(timeout, time, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var starting = false;
            try
            {
                starting = await PassAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.ServerPassFailed("(listing)", e);
            }
            Interlocked.Exchange(ref _passed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            var interval = starting ? StartingPollInterval : options.Value.ReconcileInterval;
            try
            {
                await Task.WhenAny(_wake.Reader.WaitToReadAsync(stoppingToken).AsTask(), Task.Delay(interval, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                break;
            }
            _wake.Reader.TryRead(out _);
        }
    }

    private async Task<bool> PassAsync(CancellationToken cancellationToken)
    {
        List<long> ids;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
            ids = await db.Servers.Where(s => s.State != ResourceState.Stopped && s.State != ResourceState.Failed)
                .Select(s => s.Id).ToListAsync(cancellationToken);
        }
        var starting = false;
        foreach (var id in ids)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var state = await scope.ServiceProvider.GetRequiredService<ServerDriver>().ConvergeAsync(id, cancellationToken);
                starting |= state is ResourceState.Pending or ResourceState.Starting or ResourceState.Stopping;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.ServerPassFailed(id.ToString(System.Globalization.CultureInfo.InvariantCulture), e);
            }
        }
        return starting;
    }
}
