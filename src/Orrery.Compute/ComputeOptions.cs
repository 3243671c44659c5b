namespace Orrery.Compute;

/// <summary>Section "Orrery:Compute": how the reconciler drives resources.</summary>
public sealed class ComputeOptions
{
    public const string SectionName = "Orrery:Compute";

    /// <summary>How often every active resource is looked at, besides being woken by changes.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a stopping resource gets between the polite signal and the forced kill.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);
}
