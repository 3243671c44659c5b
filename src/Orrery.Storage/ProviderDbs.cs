using Microsoft.EntityFrameworkCore;

namespace Orrery.Storage;

/// <summary><see cref="OrreryDb"/> on SQLite: its migrations are in Migrations/Sqlite.</summary>
public sealed class SqliteOrreryDb(DbContextOptions<SqliteOrreryDb> options) : OrreryDb(options);

/// <summary><see cref="OrreryDb"/> on PostgreSQL: its migrations are in Migrations/Postgres.</summary>
public sealed class PostgresOrreryDb(DbContextOptions<PostgresOrreryDb> options) : OrreryDb(options);
