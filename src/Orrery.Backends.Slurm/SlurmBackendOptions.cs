namespace Orrery.Backends.Slurm;

/// <summary>Section "Orrery:Backends:Slurm". The backend is registered only when <see cref="Enabled"/>.</summary>
public sealed class SlurmBackendOptions
{
    public const string SectionName = "Orrery:Backends:Slurm";

    public bool Enabled { get; set; }

    /// <summary>
    /// Per-resource directories (batch script, output, exit status). Must be on a filesystem the compute nodes share
    /// with Orrery; empty = <c>&lt;DataDir&gt;/slurm</c>.
    /// </summary>
    public string StateDir { get; set; } = "";

    /// <summary>Defaults for <c>--partition</c>, <c>--account</c>, <c>--qos</c>; a launch's placement overrides them.</summary>
    public string Partition { get; set; } = "";
    public string Account { get; set; } = "";
    public string Qos { get; set; } = "";

    /// <summary>Where sbatch, squeue, scontrol and scancel are; empty = on PATH. SLURM_CONF comes from Orrery's environment.</summary>
    public string BinDir { get; set; } = "";

    /// <summary>How long one Slurm command may take before it counts as failed.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
