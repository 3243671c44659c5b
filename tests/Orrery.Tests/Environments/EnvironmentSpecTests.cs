using Orrery.Core.Environments;
using Orrery.Environments.Building;
using Orrery.Environments.Specs;

namespace Orrery.Tests.Environments;

public sealed class EnvironmentSpecTests : IDisposable
{
    private readonly string _bundle = Directory.CreateTempSubdirectory("orrery-spec-").FullName;

    public EnvironmentSpecTests()
    {
        Directory.CreateDirectory(Path.Combine(_bundle, "lib", "pkg"));
        File.WriteAllText(Path.Combine(_bundle, "lib", "pyproject.toml"), "[project]\nname = \"pkg\"\n");
        File.WriteAllText(Path.Combine(_bundle, "lib", "pkg", "__init__.py"), "x = 1\n");
        File.WriteAllText(Path.Combine(_bundle, "environment.yml"), "channels: [conda-forge]\ndependencies: [numpy>=1.24, {pip: [rich==13.7.0]}]\n");
    }

    public void Dispose() => Directory.Delete(_bundle, recursive: true);

    private EnvironmentSpec Parse(string yaml) =>
        SpecParser.Parse(yaml, path => File.Exists(Path.Combine(_bundle, path)) ? File.ReadAllText(Path.Combine(_bundle, path)) : null);

    private const string Full = "name: geo\nbase: docker.io/pangeo/base-notebook:2024.01.18\nenvironment_file: environment.yml\napt: [gdal-bin]\n"
        + "libraries: [lib]\nvariables: {A: '1'}\nwelcome: hi\n";

    [Fact]
    public void Parse_FullSpec_ReadsEveryField_IncludingTheEnvironmentFile()
    {
        var spec = Parse(Full);
        spec.Name.ShouldBe("geo");
        spec.OnHost.ShouldBeFalse();
        spec.Kind.ShouldBe("image");
        spec.Channels.ShouldBe(["conda-forge"]);
        spec.CondaPackages.ShouldBe(["numpy>=1.24"]);
        spec.PipPackages.ShouldBe(["rich==13.7.0"]);
        spec.AptPackages.ShouldBe(["gdal-bin"]);
        spec.Libraries.ShouldBe(["lib"]);
        spec.Variables["A"].ShouldBe("1");
        spec.Welcome.ShouldBe("hi");
    }

    [Fact]
    public void ContentId_IgnoresNameAndWelcome_ChangesWithVariablesAndLibraryFiles()
    {
        var id = ContentId.Compute(Parse(Full), _bundle);
        ContentId.Looks(id).ShouldBeTrue();
        ContentId.Compute(Parse(Full.Replace("name: geo", "name: other").Replace("welcome: hi", "welcome: bye")), _bundle).ShouldBe(id);
        ContentId.Compute(Parse(Full.Replace("A: '1'", "A: '2'")), _bundle).ShouldNotBe(id);
        File.WriteAllText(Path.Combine(_bundle, "lib", "pkg", "__init__.py"), "x = 2\n");
        ContentId.Compute(Parse(Full), _bundle).ShouldNotBe(id);
    }

    [Fact]
    public void Containerfile_LibrariesComeLast_SoTheirChangeKeepsEarlierLayers()
    {
        var lines = ImageBuild.Containerfile(Parse(Full)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("FROM docker.io/pangeo/base-notebook:2024.01.18");
        var apt = Array.FindIndex(lines, l => l.Contains("apt-get install", StringComparison.Ordinal));
        var conda = Array.FindIndex(lines, l => l.Contains("conda env update", StringComparison.Ordinal));
        var pip = Array.FindIndex(lines, l => l.Contains("'rich==13.7.0'", StringComparison.Ordinal));
        var library = Array.FindIndex(lines, l => l.StartsWith("COPY lib ", StringComparison.Ordinal));
        new[] { apt, conda, pip, library }.ShouldBe(new[] { apt, conda, pip, library }.Order().ToArray());
        apt.ShouldBeGreaterThan(0);
        library.ShouldBe(lines.Length - 2);
    }

    [Fact]
    public void FailedStep_IsTheLastAnnouncedStep_WithPodmansInstruction()
    {
        var log = "==> step: base\nok\n==> step: build\nSTEP 1/3: FROM x\nSTEP 2/3: RUN pip install nope\nERROR: No matching distribution\n";
        var (step, output) = BuildSteps.Failed(log);
        step.ShouldBe("build (STEP 2/3: RUN pip install nope)");
        output.ShouldEndWith("ERROR: No matching distribution");
        BuildSteps.Failed("boom").Step.ShouldBe("start");
    }

    [Fact]
    public void Quote_KeepsAnyWordOneShellWord()
    {
        BuildSteps.Quote("it's").ShouldBe("'it'\\''s'");
    }

    [Fact]
    public void VersionDifferences_NameEachDifferingPackage_NullWhenSame()
    {
        var host = new Dictionary<string, string> { ["python"] = "3.11.2", ["dask"] = "2022.12.1", ["distributed"] = "2022.12.1" };
        EnvironmentVersions.Differences(host, host).ShouldBeNull();
        var newer = new Dictionary<string, string>(host) { ["dask"] = "2024.1.0" };
        EnvironmentVersions.Differences(newer, host).ShouldBe("dask 2024.1.0 (cluster) vs 2022.12.1 (server)");
    }
}
