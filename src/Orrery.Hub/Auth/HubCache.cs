using Microsoft.Extensions.Caching.Memory;

namespace Orrery.Hub.Auth;

/// <summary>
/// In-memory cache of resolved tokens and users. Any change to users, groups or tokens calls
/// <see cref="Invalidate"/>; an entry loaded before the change carries the old generation and is ignored,
/// so a revoked token stops working on this instance at once (on other instances after the cache lifetime).
/// </summary>
public sealed class HubCache : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 100_000 });
    private long _generation;

    public long Generation => Interlocked.Read(ref _generation);

    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _cache.Clear();
    }

    public bool TryGet<T>(object key, out T? value) where T : class
    {
        if (_cache.TryGetValue(key, out Entry<T>? entry) && entry!.Generation == Generation)
        {
            value = entry.Value;
            return true;
        }
        value = null;
        return false;
    }

    public void Set<T>(object key, T? value, long generation, TimeSpan lifetime) where T : class =>
        _cache.Set(key, new Entry<T>(value, generation), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpirationRelativeToNow = lifetime,
        });

    public void Dispose() => _cache.Dispose();

    private sealed record Entry<T>(T? Value, long Generation);
}
