namespace Orrery.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Section "Orrery:Storage": which database and how to reach it.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Orrery:Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Connection string; for SQLite it defaults to {DataDir}/orrery.db.</summary>
    public string? ConnectionString { get; set; }
}
