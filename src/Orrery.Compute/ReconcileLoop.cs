using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Orrery.Compute;

/// <summary>
/// The loop every reconciler runs: a pass, then sleep until the next interval or an earlier <see cref="Wake"/>;
/// a failed pass is reported and the loop goes on. Wake-ups during a pass collapse into one more pass.
/// </summary>
public abstract class ReconcileLoop(TimeProvider time) : BackgroundService
{
    // Capacity one: many wake-ups before a pass collapse into one pass.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected TimeProvider Time => time;

    /// <summary>Asks for a pass soon instead of at the next interval.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Completes when the pass running now (or the next one) ends, or after <paramref name="timeout"/>.</summary>
    public async Task NextPassAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.WhenAny(Volatile.Read(ref _passed).Task, Task.Delay(timeout, time, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Lists what to look at in one scope, then converges each item in a scope of its own, one at a time, so a failure
    /// (reported through <paramref name="failed"/>) leaves the others be. Returns whether any wants a quick next pass.
    /// </summary>
    protected static async Task<bool> ConvergeEachAsync<TKey>(IServiceScopeFactory scopes, Func<IServiceProvider, Task<List<TKey>>> list,
        Func<IServiceProvider, TKey, Task<bool>> converge, Action<TKey, Exception> failed)
    {
        List<TKey> keys;
        await using (var scope = scopes.CreateAsyncScope())
            keys = await list(scope.ServiceProvider);
        var soon = false;
        foreach (var key in keys)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                soon |= await converge(scope.ServiceProvider, key);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed(key, e);
            }
        }
        return soon;
    }

    /// <summary>One pass over everything; returns how long to wait before the next one.</summary>
    protected abstract Task<TimeSpan> PassAsync(CancellationToken cancellationToken);

    protected abstract void PassFailed(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = TimeSpan.FromSeconds(1);
            try
            {
                interval = await PassAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                PassFailed(e);
            }
            Interlocked.Exchange(ref _passed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            try
            {
                await Task.WhenAny(_wake.Reader.WaitToReadAsync(stoppingToken).AsTask(), Task.Delay(interval, time, stoppingToken));
                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
