using Orrery.Core.Compute;
using Orrery.Storage.Entities;

namespace Orrery.Compute;

/// <summary>Reading a resource's output, e.g. the last lines to show with a failure.</summary>
public static class ComputeLogs
{
    public static async Task<string> LastLinesAsync(ComputeBackends backends, ComputeResource resource, CancellationToken cancellationToken, int lines = 20)
    {
        if (resource.Handle is null || backends.Find(resource.Backend) is not { } backend)
            return "(no log)";
        await using var log = await backend.OpenLogAsync(new BackendHandle(resource.Backend, resource.Handle), cancellationToken);
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
}
