namespace Orrery.Environments.Specs;

/// <summary>
/// A checked environment spec: what to start from (<see cref="Base"/>: the host's Python, or a container image),
/// what to add (conda packages and channels — the environment.yml a team already keeps —, pip packages, Debian
/// packages, local libraries from the uploaded bundle), and what every process in it gets (variables, a welcome).
/// </summary>
public sealed record EnvironmentSpec(
    string Name,
    string Base,
    IReadOnlyList<string> Channels,
    IReadOnlyList<string> CondaPackages,
    IReadOnlyList<string> PipPackages,
    IReadOnlyList<string> AptPackages,
    IReadOnlyList<string> Libraries,
    IReadOnlyDictionary<string, string> Variables,
    string? Welcome)
{
    /// <summary>The base meaning "the host's Python": the environment is a virtual environment on the host.</summary>
    public const string HostBase = "host";

    public bool OnHost => Base == HostBase;

    /// <summary>How an environment is realised: a virtual environment on the host, or a container image.</summary>
    public const string VenvKind = "venv", ImageKind = "image";

    public string Kind => OnHost ? VenvKind : ImageKind;
}

/// <summary>A spec field is wrong; the message names it, fit for a 400 answer.</summary>
public sealed class SpecException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
}
