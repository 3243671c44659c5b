using Npgsql;

namespace Orrery.FunctionalTests.Infrastructure;

/// <summary>
/// The stores the storage tests run against: SQLite always; PostgreSQL when ORRERY_TEST_POSTGRES holds a
/// connection string to a server where databases may be created (the test script starts one from Debian's
/// postgresql package). Each test gets a fresh database.
/// </summary>
public static class StorageProviders
{
    public const string PostgresVariable = "ORRERY_TEST_POSTGRES";

    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string> { "Sqlite" };
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresVariable)))
                data.Add("Postgres");
            return data;
        }
    }

    /// <summary>Server settings for a fresh store of the given provider.</summary>
    public static async Task<Dictionary<string, string?>> SettingsAsync(string provider)
    {
        if (provider == "Sqlite")
            return new() { ["Orrery:Storage:Provider"] = "Sqlite" };
        var admin = Environment.GetEnvironmentVariable(PostgresVariable)!;
        var database = "orrery_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = database };
        return new() { ["Orrery:Storage:Provider"] = "Postgres", ["Orrery:Storage:ConnectionString"] = builder.ConnectionString };
    }
}
