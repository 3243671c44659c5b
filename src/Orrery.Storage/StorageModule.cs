using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Storage;

public static class StorageModule
{
    /// <summary>Registers <see cref="OrreryDb"/> on the configured provider (SQLite by default, PostgreSQL by setting).</summary>
    public static IServiceCollection AddOrreryStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName);
        services.AddHostedService<StorageInitializer>();
        services.AddDbContextPool<OrreryDb>((provider, db) =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            var orrery = provider.GetRequiredService<IOptions<OrreryOptions>>().Value;
            Configure(db, storage, orrery.DataDir);
        });
        return services;
    }

    public static void Configure(DbContextOptionsBuilder db, StorageOptions storage, string dataDir)
    {
        switch (storage.Provider)
        {
            case StorageProvider.Postgres:
                db.UseNpgsql(storage.ConnectionString
                    ?? throw new InvalidOperationException("Orrery:Storage:ConnectionString is required for PostgreSQL."));
                break;
            default:
                db.UseSqlite(storage.ConnectionString ?? SqliteConnectionString(dataDir));
                break;
        }
    }

    private static string SqliteConnectionString(string dataDir) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDir, "orrery.db"),
        Cache = SqliteCacheMode.Private,
        // Writers wait for each other instead of failing with "database is locked".
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Creates the schema when missing and sets SQLite's write-ahead log so readers never block writers.</summary>
    public static async Task InitializeAsync(OrreryDb db, CancellationToken cancellationToken)
    {
        await db.Database.EnsureCreatedAsync(cancellationToken);
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
}
