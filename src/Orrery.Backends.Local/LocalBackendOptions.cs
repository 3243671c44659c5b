namespace Orrery.Backends.Local;

/// <summary>Settings of the local process backend, bound from <see cref="SectionName"/>.</summary>
public sealed class LocalBackendOptions
{
    public const string SectionName = "Orrery:Backends:Local";

    /// <summary>
    /// Absolute directory holding one sub-directory per resource (output log, exit status, default working
    /// directory). The server sets it to <c>&lt;dataDir&gt;/run</c>.
    /// </summary>
    public string StateDir { get; set; } = "";

    /// <summary>Grace period used when the backend itself has to stop a resource (e.g. on forget).</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);
}
