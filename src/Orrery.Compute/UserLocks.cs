using System.Collections.Concurrent;

namespace Orrery.Compute;

/// <summary>
/// One async lock per user, for a read-check-write of what the user has (a cluster budget, a server's state) that
/// concurrent requests must not interleave. Held only around the check and the write, never while waiting for
/// a process.
/// </summary>
public sealed class UserLocks
{
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _locks = new();

    public async Task<IDisposable> AcquireAsync(long userId, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(userId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new Release(gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
