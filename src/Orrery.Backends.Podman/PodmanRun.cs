using System.Globalization;
using System.Text.Json;
using Orrery.Core.Compute;

namespace Orrery.Backends.Podman;

/// <summary>
/// <c>podman run</c> for one launch: its arguments, and the variables podman must have in its own environment for
/// <c>-e NAME</c> (so the launch's secrets, e.g. tokens, never appear on a command line where <c>ps</c> shows them).
/// </summary>
internal static class PodmanRun
{
    public const string ResourceLabel = "orrery.resource";

    // Leaves room under NAME_MAX (255) for the directory and "orrery-" for the container name.
    private const int MaxResourceIdLength = 200;

    /// <summary>
    /// Variables podman itself (or the Go runtime, or the dynamic loader) reads: put into podman's environment they
    /// would change podman, not just the container (a PATH or HOME for the container, LD_PRELOAD, CONTAINERS_CONF,
    /// CONTAINER_HOST turning podman remote, TMPDIR, proxies, …). These go on the command line as <c>-e NAME=VALUE</c>;
    /// they are settings, not secrets.
    /// </summary>
    private static readonly string[] PodmanReadsPrefixes = ["LD_", "CONTAINERS_", "_CONTAINERS_", "CONTAINER_", "PODMAN_", "BUILDAH_",
        "XDG_", "LISTEN_"];

    private static readonly HashSet<string> PodmanReadsNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "PATH", "HOME", "TMPDIR", "TZ", "NOTIFY_SOCKET", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "DBUS_SESSION_BUS_ADDRESS", "STORAGE_DRIVER", "STORAGE_OPTS", "REGISTRY_AUTH_FILE",
        "DOCKER_CONFIG", "GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK",
    };

    public sealed record Command(List<string> Arguments, Dictionary<string, string> Environment);

    /// <summary>Why the spec cannot run as a container, or null.</summary>
    public static string? Validate(LaunchSpec spec)
    {
        if (!IsSafeResourceId(spec.ResourceId))
            return $"Resource id '{spec.ResourceId}' cannot name a container and its directory (1 to {MaxResourceIdLength} of A-Z a-z 0-9 _ . -, starting with a letter or digit, no '..').";
        if (string.IsNullOrWhiteSpace(spec.Image))
            return "The Podman backend runs programs in a container image, and this launch names none (set the profile's Image).";
        // The image is a positional argument: one starting with '-' would be read as an option of podman run.
        if (spec.Image.StartsWith('-') || spec.Image.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            return $"'{spec.Image}' is not an image name.";
        if (spec.Command.Count == 0 || string.IsNullOrEmpty(spec.Command[0]))
            return "The command is empty; it needs at least a program to run.";
        if (spec.Command.Any(a => a.Contains('\0', StringComparison.Ordinal)))
            return "A command argument contains a NUL character, which no program can receive.";
        foreach (var (name, value) in spec.Environment)
        {
            // podman reads "-e NAME*" as a pattern: every variable of its own environment (Orrery's) starting with NAME.
            if (name.Length == 0 || name.IndexOfAny(['=', '\0', '*']) >= 0)
                return $"Environment variable name '{name}' is invalid (empty, or contains '=', '*' or NUL).";
            if (value.Contains('\0', StringComparison.Ordinal))
                return $"Environment variable '{name}' contains a NUL character.";
        }
        return spec.WorkingDirectory is { } directory ? ValidateWorkingDirectory(directory) : null;
    }

    /// <summary>The id names the container (<c>orrery-&lt;id&gt;</c>: podman's name rules) and a directory under the state directory.</summary>
    public static bool IsSafeResourceId(string resourceId) =>
        resourceId.Length is > 0 and <= MaxResourceIdLength && char.IsAsciiLetterOrDigit(resourceId[0])
        && resourceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') && !resourceId.Contains("..", StringComparison.Ordinal);

    public static string ContainerName(string resourceId) => "orrery-" + resourceId;

    /// <summary>The arguments after <c>podman</c>, for a spec that passed <see cref="Validate"/>.</summary>
    public static Command Build(LaunchSpec spec, string directory, string network)
    {
        var arguments = new List<string>
        {
            "run", "--detach", "--name", ContainerName(spec.ResourceId), "--label", $"{ResourceLabel}={spec.ResourceId}",
            // Images are provisioned ahead (scripts/podman.sh base-image, podman pull): a pull would hold up the reconciler,
            // which launches one resource after another, for as long as a registry takes.
            "--pull", "never",
            // An init process as PID 1 (podman's catatonit): the program gets SIGTERM's default action, as on the host, where
            // as PID 1 it would ignore the signal unless it handles it and so always be killed after the stop grace.
            "--init",
            // The container's environment is the image's plus the launch's, never Orrery's proxies.
            "--http-proxy=false",
            "--network", network,
            // The container's own stdout and stderr, kept by conmon in a file of ours: logs outlive the container and Orrery.
            "--log-driver", "k8s-file", "--log-opt", $"path={Path.Combine(directory, PodmanHandle.LogFileName)}",
        };
        if (spec.Resources.Cores is { } cores && cores > 0)
            arguments.AddRange(["--cpus", cores.ToString("0.###", CultureInfo.InvariantCulture)]);
        if (spec.Resources.MemoryBytes is { } memory && memory > 0)
        {
            var bytes = memory.ToString(CultureInfo.InvariantCulture) + "b";
            // --memory-swap equal to --memory: the limit is the memory it may use, not twice that with swap.
            arguments.AddRange(["--memory", bytes, "--memory-swap", bytes]);
        }
        if (spec.Resources.TimeLimit is { } limit && limit > TimeSpan.Zero)
            arguments.AddRange(["--timeout", ((long)Math.Ceiling(limit.TotalSeconds)).ToString(CultureInfo.InvariantCulture)]);
        if (spec.WorkingDirectory is { } workingDirectory)
        {
            // The one host directory the container sees, at the same path, so paths in the launch (a home, a cluster or
            // code directory) mean the same inside and out.
            var path = Path.GetFullPath(workingDirectory);
            arguments.AddRange(["--volume", $"{path}:{path}:rw", "--workdir", path]);
        }
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in spec.Environment)
        {
            if (PodmanReads(name))
                arguments.AddRange(["--env", $"{name}={value}"]);
            else
            {
                arguments.AddRange(["--env", name]);
                environment[name] = value;
            }
        }
        // Kubernetes' meaning: the launch's command replaces the image's entrypoint (and with it the image's CMD).
        arguments.AddRange(["--entrypoint", JsonSerializer.Serialize(new[] { spec.Command[0] }), spec.Image!]);
        arguments.AddRange(spec.Command.Skip(1));
        return new Command(arguments, environment);
    }

    private static bool PodmanReads(string name) =>
        PodmanReadsNames.Contains(name) || PodmanReadsPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    private static string? ValidateWorkingDirectory(string directory)
    {
        if (!Path.IsPathFullyQualified(directory))
            return $"Working directory '{directory}' must be an absolute path.";
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (path.Length <= 1)
            return "The working directory is bind-mounted into the container; it cannot be the host's root directory.";
        // ':' separates the parts of podman's --volume.
        if (path.Contains(':', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal))
            return $"Working directory '{directory}' cannot be mounted into a container (it contains ':').";
        return Directory.Exists(path) ? null : $"Working directory '{directory}' does not exist.";
    }
}
