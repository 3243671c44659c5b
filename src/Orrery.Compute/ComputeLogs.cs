using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Core.Compute;
using Orrery.Core.Lifecycle;
using Orrery.Storage;
using Orrery.Storage.Entities;

namespace Orrery.Compute;

/// <summary>Reading a resource's output: the last lines to show with a failure, or the whole of it as it grows.</summary>
public static class ComputeLogs
{
    /// <summary>The resource's combined output so far, or null when it has none (never launched, backend gone).</summary>
    public static async Task<Stream?> OpenAsync(ComputeBackends backends, ComputeResource resource, CancellationToken cancellationToken) =>
        resource.Handle is not null && backends.Find(resource.Backend) is { } backend
            ? await backend.OpenLogAsync(new BackendHandle(resource.Backend, resource.Handle), cancellationToken)
            : null;

    public static async Task<string> LastLinesAsync(ComputeBackends backends, ComputeResource resource, CancellationToken cancellationToken, int lines = 20)
    {
        await using var log = await OpenAsync(backends, resource, cancellationToken);
        if (log is null)
            return "(no log)";
        using var reader = new StreamReader(log);
        var tail = new Queue<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            tail.Enqueue(line);
            if (tail.Count > lines)
                tail.Dequeue();
        }
        return string.Join('\n', tail);
    }

    /// <summary>
    /// Hands each chunk of <paramref name="log"/> to <paramref name="write"/> as it is written, until the resource has
    /// ended and what it wrote last was read too. At the end of what is written so far it looks at the resource's state
    /// (in a scope of its own) and, while it runs, reads again after <paramref name="poll"/>.
    /// </summary>
    public static async Task FollowAsync(IServiceProvider services, Stream log, string resourceId, TimeSpan poll,
        Func<ReadOnlyMemory<byte>, Task> write, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var ended = false;
        while (true)
        {
            var read = await log.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                await write(buffer.AsMemory(0, read));
                continue;
            }
            if (ended)
                return;
            ended = await HasEndedAsync(services, resourceId, cancellationToken);
            if (!ended)
                await Task.Delay(poll, cancellationToken);
        }
    }

    /// <summary>Whether the resource is gone or in a terminal state, read in a scope of its own (callers outlive theirs).</summary>
    public static async Task<bool> HasEndedAsync(IServiceProvider services, string resourceId, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var state = await scope.ServiceProvider.GetRequiredService<OrreryDb>().Resources
            .Where(r => r.Id == resourceId).Select(r => (ResourceState?)r.State).FirstOrDefaultAsync(cancellationToken);
        return state is null || ResourceLifecycle.IsTerminal(state.Value);
    }
}
