using System.Reflection;

namespace Orrery.Tests;

/// <summary>
/// The dependency rule from docs/architecture.md, checked on the compiled assemblies: Core depends on no
/// Orrery assembly; Storage and backends only on Core; Compute on Core and Storage; feature modules on Core,
/// Storage and Compute; only the server composes everything.
/// </summary>
public class DependencyRuleTests
{
    public static TheoryData<string, string[]> Allowed => new()
    {
        { "Orrery.Core", [] },
        { "Orrery.Storage", ["Orrery.Core"] },
        { "Orrery.Backends.Local", ["Orrery.Core"] },
        { "Orrery.Backends.Slurm", ["Orrery.Core"] },
        { "Orrery.Backends.Podman", ["Orrery.Core"] },
        { "Orrery.Compute", ["Orrery.Core", "Orrery.Storage"] },
        { "Orrery.Hub", ["Orrery.Core", "Orrery.Storage", "Orrery.Compute"] },
        { "Orrery.Gateway", ["Orrery.Core", "Orrery.Storage", "Orrery.Compute", "Orrery.Hub"] },
        { "Orrery.Servers", ["Orrery.Core", "Orrery.Storage", "Orrery.Compute", "Orrery.Hub"] },
        { "Orrery.Jobs", ["Orrery.Core", "Orrery.Storage", "Orrery.Compute", "Orrery.Hub"] },
        { "Orrery.Environments", ["Orrery.Core", "Orrery.Storage", "Orrery.Compute", "Orrery.Hub"] },
    };

    [Theory]
    [MemberData(nameof(Allowed))]
    public void Assembly_ReferencesOnlyAllowedOrreryAssemblies(string assembly, string[] allowed)
    {
        var references = Assembly.Load(assembly).GetReferencedAssemblies()
            .Select(a => a.Name!).Where(n => n.StartsWith("Orrery.", StringComparison.Ordinal));
        references.Except(allowed).ShouldBeEmpty();
    }

    [Fact]
    public void EveryOrreryAssembly_IsCoveredByTheRule()
    {
        var src = Path.Combine(RepositoryRoot(), "src");
        var projects = Directory.GetDirectories(src).Select(Path.GetFileName).Where(n => n != "Orrery.Server");
        projects.Except(Allowed.Select(row => (string)row[0])).ShouldBeEmpty();
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orrery.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Orrery.slnx not found above the test binaries.");
    }
}
