using System.Text;
using Orrery.Environments.Specs;

namespace Orrery.Environments.Building;

/// <summary>
/// The build of a container environment: a Containerfile FROM the base — Debian packages, <c>conda env update</c>
/// (when the base has conda), pip packages, then each local library copied and installed last, so changing a
/// library rebuilds only its own layers — built by Podman into an image tagged with the content id, pushed when a
/// registry is configured, then asked for its manifest.
/// </summary>
public static class ImageBuild
{
    public const string CondaFile = ".orrery-environment.yml";

    public static string Tag(string contentId, EnvironmentsOptions options) => $"{options.ImageRepository}:{contentId}";

    /// <summary>Where launches pull the image from: the registry copy when one is configured.</summary>
    public static string PullName(string contentId, EnvironmentsOptions options) =>
        options.Registry.Length > 0 ? $"{options.Registry.TrimEnd('/')}/orrery-env:{contentId}" : Tag(contentId, options);

    public static string Containerfile(EnvironmentSpec spec)
    {
        var s = new StringBuilder($"FROM {spec.Base}\n");
        if (spec.AptPackages.Count > 0)
            s.Append("USER root\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ")
                .Append(BuildSteps.Words(spec.AptPackages)).Append(" && rm -rf /var/lib/apt/lists/*\n");
        if (spec.CondaPackages.Count > 0)
            s.Append($"COPY {CondaFile} /tmp/{CondaFile}\n")
                .Append($"RUN if command -v conda >/dev/null; then conda env update -n base -f /tmp/{CondaFile}; ")
                .Append("else echo 'The base image has no conda, so the environment file'\"'\"'s conda dependencies cannot be installed.' >&2; exit 1; fi\n");
        const string pip = "RUN PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --no-cache-dir --no-input --disable-pip-version-check";
        if (spec.PipPackages.Count > 0)
            s.Append($"{pip} {BuildSteps.Words(spec.PipPackages)}\n");
        foreach (var library in spec.Libraries)
            s.Append($"COPY {library} /opt/orrery/libraries/{library}\n")
                .Append($"{pip} --no-deps --no-build-isolation --no-index /opt/orrery/libraries/{library}\n");
        return s.ToString();
    }

    /// <summary>The environment file the conda step reads: channels and the conda dependencies (pip has its own step).</summary>
    public static string CondaEnvironment(EnvironmentSpec spec)
    {
        var s = new StringBuilder("channels:\n");
        foreach (var channel in spec.Channels)
            s.Append($"  - \"{channel}\"\n");
        s.Append("dependencies:\n");
        foreach (var package in spec.CondaPackages)
            s.Append($"  - \"{package}\"\n");
        return s.ToString();
    }

    public static string Script(EnvironmentSpec spec, EnvironmentFiles files, string contentId, EnvironmentsOptions options)
    {
        var podman = BuildSteps.Quote(options.PodmanProgram);
        var tag = BuildSteps.Quote(Tag(contentId, options));
        var manifest = BuildSteps.Quote(files.Manifest(contentId));
        var s = new StringBuilder(BuildSteps.Prelude);
        s.Append($"step base\n{podman} image exists {BuildSteps.Quote(spec.Base)} || {podman} pull {BuildSteps.Quote(spec.Base)}\n");
        s.Append($"step build\n{podman} build --network host --layers -t {tag} ")
            .Append($"-f {BuildSteps.Quote(Path.Combine(files.Directory(contentId), "Containerfile"))} {BuildSteps.Quote(files.Source(contentId))}\n");
        if (options.Registry.Length > 0)
        {
            var remote = BuildSteps.Quote(PullName(contentId, options));
            s.Append($"step push\n{podman} tag {tag} {remote}\n{podman} push {remote}\n");
        }
        s.Append($"step manifest\n{podman} run --rm --network none --entrypoint python3 {tag} -c {BuildSteps.Quote(BuildSteps.ManifestProgram)} > {manifest}.tmp\n")
            .Append($"mv {manifest}.tmp {manifest}\necho '==> done'\n");
        return s.ToString();
    }
}
