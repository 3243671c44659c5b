using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Storage;

public static class StorageModule
{
    /// <summary>
    /// Registers <see cref="OrreryDb"/> on the configured provider (SQLite by default, PostgreSQL by setting). Callers
    /// inject <see cref="OrreryDb"/>; what they get is the provider's subclass, which is what finds the migrations.
    /// </summary>
    public static IServiceCollection AddOrreryStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName);
        services.AddHostedService<StorageInitializer>();
        // One pool per provider type; a pool is only made when first used, so only the configured one ever is.
        services.AddDbContextPool<SqliteOrreryDb>((provider, db) => ConfigurePool(provider, db, StorageProvider.Sqlite));
        services.AddDbContextPool<PostgresOrreryDb>((provider, db) => ConfigurePool(provider, db, StorageProvider.Postgres));
        services.AddScoped<OrreryDb>(provider =>
            provider.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Postgres
                ? provider.GetRequiredService<PostgresOrreryDb>()
                : provider.GetRequiredService<SqliteOrreryDb>());
        return services;
    }

    private static void ConfigurePool(IServiceProvider provider, DbContextOptionsBuilder db, StorageProvider pool)
    {
        var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (storage.Provider != pool)
            throw new InvalidOperationException($"Orrery:Storage:Provider is {storage.Provider}: inject OrreryDb, not the {pool} database.");
        Configure(db, storage, provider.GetRequiredService<IOptions<OrreryOptions>>().Value.DataDir);
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

    /// <summary>
    /// A database context of its own, outside dependency injection (tools, tests): the provider's subclass, so
    /// <see cref="InitializeAsync"/> can migrate it. Dispose it.
    /// </summary>
    public static OrreryDb Create(StorageOptions storage, string dataDir) => storage.Provider switch
    {
        StorageProvider.Postgres => new PostgresOrreryDb(Options<PostgresOrreryDb>(storage, dataDir)),
        _ => new SqliteOrreryDb(Options<SqliteOrreryDb>(storage, dataDir)),
    };

    private static DbContextOptions<T> Options<T>(StorageOptions storage, string dataDir) where T : DbContext
    {
        var builder = new DbContextOptionsBuilder<T>();
        Configure(builder, storage, dataDir);
        return builder.Options;
    }

    private static string SqliteConnectionString(string dataDir) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDir, "orrery.db"),
        Cache = SqliteCacheMode.Private,
        // Writers wait for each other instead of failing with "database is locked".
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>
    /// Brings the schema up to date — creates the database when missing and applies every migration it lacks (EF
    /// takes a lock, so two processes starting at once do not both migrate) — and sets SQLite's write-ahead log so
    /// readers never block writers.
    /// </summary>
    public static async Task InitializeAsync(OrreryDb db, CancellationToken cancellationToken)
    {
        if (db.GetType() == typeof(OrreryDb))
            throw new InvalidOperationException(
                "A plain OrreryDb has no migrations: use the provider's subclass (StorageModule.Create, or OrreryDb from AddOrreryStorage).");
        await db.Database.MigrateAsync(cancellationToken);
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
}
