using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orrery.FunctionalTests.Infrastructure;
using Orrery.Storage;

namespace Orrery.FunctionalTests.Storage;

/// <summary>
/// The schema comes from EF Core migrations, one set per provider (src/Orrery.Storage/Migrations/Sqlite and
/// …/Postgres): a fresh database gets all of them, a restart applies nothing twice, and the model never runs ahead of
/// the migrations (docs/operations.md, "Schema changes").
/// </summary>
public class MigrationTests
{
    private const string AddAMigration =
        "the model has changes that no migration captures: add a migration for both providers as docs/operations.md (\"Schema changes\") shows";

    [Theory]
    [MemberData(nameof(StorageProviders.All), MemberType = typeof(StorageProviders))]
    public async Task FreshDatabase_GetsEveryMigration_AndRestartsOnTheSameData(string provider)
    {
        var server = await OrreryTestServer.StartAsync(await StorageProviders.SettingsAsync(provider));
        try
        {
            List<string> migrations;
            await using (var scope = server.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
                db.ShouldBeOfType(provider == "Sqlite" ? typeof(SqliteOrreryDb) : typeof(PostgresOrreryDb));
                migrations = [.. db.Database.GetMigrations()];
                migrations.ShouldNotBeEmpty();
                migrations[0].ShouldEndWith("_Initial");
                (await db.Database.GetAppliedMigrationsAsync()).ShouldBe(migrations);
                if (provider == "Sqlite")
                    (await JournalModeAsync(db)).ShouldBe("wal");
            }
            var (name, token) = await server.CreateUserAsync("migrated");

            server = await server.RestartAsync();
            server = await server.RestartAsync();

            await using (var scope = server.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<OrreryDb>();
                (await db.Database.GetAppliedMigrationsAsync()).ShouldBe(migrations);
                (await db.Database.GetPendingMigrationsAsync()).ShouldBeEmpty();
            }
            using var user = server.Client(token);
            var model = await (await user.GetAsync("hub/api/user")).JsonAsync();
            model.GetProperty("name").GetString().ShouldBe(name);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>What CI checks so that no model change lands without its migration, for both providers (no server needed).</summary>
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public void Model_HasNoChangesMissingFromTheMigrations(string provider)
    {
        using var db = DesignTimeDb(provider);
        db.Database.GetMigrations().ShouldNotBeEmpty();
        db.Database.HasPendingModelChanges().ShouldBeFalse($"{provider}: {AddAMigration}");
    }

    [Fact]
    public void BothProviders_HaveTheSameMigrations()
    {
        using var sqlite = DesignTimeDb("Sqlite");
        using var postgres = DesignTimeDb("Postgres");
        Names(postgres).ShouldBe(Names(sqlite), "every migration is added for both providers, under the same name");

        static List<string> Names(OrreryDb db) =>
            [.. db.Database.GetMigrations().Select(id => id[(id.IndexOf('_', StringComparison.Ordinal) + 1)..])];
    }

    [Fact]
    public async Task InitializeAsync_MigratesADatabaseCreatedOutsideTheServer_AndRefusesAPlainOrreryDb()
    {
        var dir = Directory.CreateTempSubdirectory("orrery-migrate-").FullName;
        try
        {
            await using (var db = StorageModule.Create(new StorageOptions(), dir))
            {
                await StorageModule.InitializeAsync(db, CancellationToken.None);
                await StorageModule.InitializeAsync(db, CancellationToken.None);
                (await db.Database.GetPendingMigrationsAsync()).ShouldBeEmpty();
                (await db.Users.CountAsync()).ShouldBe(0);
            }

            var options = new DbContextOptionsBuilder<OrreryDb>();
            StorageModule.Configure(options, new StorageOptions(), dir);
            await using var plain = new OrreryDb(options.Options);
            (await plain.Users.CountAsync()).ShouldBe(0);
            (await Should.ThrowAsync<InvalidOperationException>(() => StorageModule.InitializeAsync(plain, CancellationToken.None)))
                .Message.ShouldContain("no migrations");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static OrreryDb DesignTimeDb(string provider) => provider == "Sqlite"
        ? new SqliteDesignTimeFactory().CreateDbContext([])
        : new PostgresDesignTimeFactory().CreateDbContext([]);

    private static async Task<string?> JournalModeAsync(OrreryDb db)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            return (string?)await command.ExecuteScalarAsync();
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
