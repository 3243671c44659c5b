using Orrery.Core.Compute;

namespace Orrery.Compute;

/// <summary>The registered backends by name; profiles and options choose one by its name.</summary>
public sealed class ComputeBackends(IEnumerable<IComputeBackend> backends)
{
    private readonly Dictionary<string, IComputeBackend> _byName = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public IEnumerable<IComputeBackend> All => _byName.Values;

    public IComputeBackend? Find(string name) => _byName.GetValueOrDefault(name);
}
