namespace Orrery.Jobs;

/// <summary>Section "Orrery:Jobs": the kbatch-compatible batch-job service.</summary>
public sealed class JobsOptions
{
    public const string SectionName = "Orrery:Jobs";

    /// <summary>Path segment under <c>services/</c> and the scope callers need (<c>access:services!service=kbatch</c>).</summary>
    public string ServiceName { get; set; } = "kbatch";

    /// <summary>Largest code bundle (the zip, before base64), K/M/G suffixes; kbatch's ConfigMaps stop at 1 MiB, Orrery does not.</summary>
    public string MaxBundleSize { get; set; } = "100M";

    /// <summary>Most bytes a bundle may unpack to.</summary>
    public string MaxBundleUnpackedSize { get; set; } = "1G";

    /// <summary>How long a finished job, its status and its complete logs stay (kbatch: 1 hour; Orrery: 7 days).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Jobs one user may have running at once (0 = no limit); more wait as pending.</summary>
    public int MaxConcurrentJobs { get; set; } = 4;

    /// <summary>Cores one user's running jobs may request together (0 = no limit).</summary>
    public double MaxCores { get; set; }

    /// <summary>Memory one user's running jobs may request together, K/M/G/T suffixes (empty = no limit).</summary>
    public string MaxMemory { get; set; } = "";

    /// <summary>Variables every job gets (kbatch's KBATCH_JOB_EXTRA_ENV), before Orrery's own.</summary>
    public Dictionary<string, string> ExtraEnvironment { get; set; } = [];

    /// <summary>What <c>GET profiles/</c> serves (kbatch's profile file): name → image and resources.</summary>
    public Dictionary<string, JobProfile> Profiles { get; set; } = [];

    /// <summary>The compute backend jobs run on (e.g. "slurm"); empty = <c>Orrery:DefaultBackend</c>.</summary>
    public string Backend { get; set; } = "";

    /// <summary>Batch placement for jobs (e.g. Slurm's partition, account, qos); a job's image's profile adds to it.</summary>
    public Dictionary<string, string> Placement { get; set; } = [];

    /// <summary>How often jobs are checked; a change wakes the loop at once.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often cron schedules are looked at (runs are due at whole minutes).</summary>
    public TimeSpan CronInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The backend a job runs on: its image's profile's, else <see cref="Backend"/>, else <paramref name="defaultBackend"/>.</summary>
    public string BackendFor(string image, string defaultBackend) =>
        Profiles.Values.FirstOrDefault(p => p.Image == image && !string.IsNullOrEmpty(p.Backend))?.Backend
        ?? (Backend.Length > 0 ? Backend : defaultBackend);

    /// <summary>The placement a job gets: the setting, then its image's profile's.</summary>
    public IReadOnlyDictionary<string, string> PlacementFor(string image)
    {
        var placement = new Dictionary<string, string>(Placement, StringComparer.Ordinal);
        foreach (var profile in Profiles.Values.Where(p => p.Image == image))
            foreach (var (key, value) in profile.Placement)
                placement[key] = value;
        return placement;
    }

    /// <summary>Every backend name the settings mention, with the setting that names it.</summary>
    public IEnumerable<(string Setting, string Backend)> NamedBackends() =>
        Profiles.Where(p => !string.IsNullOrEmpty(p.Value.Backend)).Select(p => ($"{SectionName}:Profiles:{p.Key}:Backend", p.Value.Backend!))
            .Concat(Backend.Length > 0 ? [($"{SectionName}:Backend", Backend)] : []);
}

/// <summary>A kbatch profile; the CLI applies it client-side.</summary>
public sealed class JobProfile
{
    public string? Image { get; set; }

    /// <summary>
    /// Where jobs of this profile run. kbatch applies profiles client-side and sends only the image, so a job whose
    /// image is this profile's goes to this backend. Not served to clients.
    /// </summary>
    public string? Backend { get; set; }

    /// <summary>Placement for jobs of this profile (by image, as <see cref="Backend"/>). Not served to clients.</summary>
    public Dictionary<string, string> Placement { get; set; } = [];

    public Dictionary<string, string> Requests { get; set; } = [];
    public Dictionary<string, string> Limits { get; set; } = [];
}
