namespace Orrery.Server;

/// <summary>
/// The short environment variables operators and scripts use, mapped onto configuration keys. The long form
/// (Orrery__DataDir, …) works too, through ASP.NET Core's environment provider.
/// </summary>
internal static class EnvironmentSettings
{
    private static readonly (string Variable, string Key)[] Map =
    [
        ("ORRERY_DATA_DIR", "Orrery:DataDir"),
        ("ORRERY_BASE_URL", "Orrery:BaseUrl"),
        ("ORRERY_PUBLIC_URL", "Orrery:PublicUrl"),
        ("ORRERY_ADMIN_TOKEN", "Orrery:AdminToken"),
        ("ORRERY_DATABASE", "Orrery:Storage:Provider"),
        ("ORRERY_DATABASE_URL", "Orrery:Storage:ConnectionString"),
    ];

    /// <summary>Adds the variables with less weight than command-line arguments, so <c>--Orrery:DataDir=…</c> still wins.</summary>
    public static void AddBelowCommandLine(ConfigurationManager configuration)
    {
        var source = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = Read() };
        var sources = configuration.Sources;
        var commandLine = sources.Select((s, i) => (s, i)).FirstOrDefault(x => x.s is Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationSource);
        if (commandLine.s is null)
            sources.Add(source);
        else
            sources.Insert(commandLine.i, source);
    }

    private static IEnumerable<KeyValuePair<string, string?>> Read() =>
        Map.Select(m => (m.Key, Value: Environment.GetEnvironmentVariable(m.Variable)))
            .Where(m => !string.IsNullOrEmpty(m.Value))
            .Select(m => new KeyValuePair<string, string?>(m.Key, m.Value));
}
