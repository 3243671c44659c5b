using Microsoft.EntityFrameworkCore.Design;

namespace Orrery.Storage;

// For `dotnet ef` only (docs/operations.md, "Schema changes"): how to make each provider's database context at design
// time. `migrations add` never connects; a connection string after `--` is used instead of the placeholder (for
// `migrations script --idempotent` that is not needed either, for `database update` it is).

/// <summary>Design-time <see cref="SqliteOrreryDb"/>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteOrreryDb>
{
    public SqliteOrreryDb CreateDbContext(string[] args) => (SqliteOrreryDb)StorageModule.Create(
        new StorageOptions { Provider = StorageProvider.Sqlite, ConnectionString = args.FirstOrDefault() ?? "Data Source=:memory:" },
        dataDir: ".");
}

/// <summary>Design-time <see cref="PostgresOrreryDb"/>.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresOrreryDb>
{
    public PostgresOrreryDb CreateDbContext(string[] args) => (PostgresOrreryDb)StorageModule.Create(
        new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = args.FirstOrDefault() ?? "Host=localhost;Database=orrery_design_time" },
        dataDir: ".");
}
