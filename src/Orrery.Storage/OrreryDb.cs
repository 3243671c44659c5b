using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Orrery.Storage.Entities;

namespace Orrery.Storage;

/// <summary>
/// The database, as every caller injects it. At run time it is always one of the provider subclasses,
/// <see cref="SqliteOrreryDb"/> or <see cref="PostgresOrreryDb"/>: they add nothing but a type of their own, so that
/// each provider has its own migrations (Migrations/Sqlite, Migrations/Postgres). A plain <see cref="OrreryDb"/>
/// works on an existing database but has no migrations.
/// </summary>
public class OrreryDb : DbContext
{
    public OrreryDb(DbContextOptions<OrreryDb> options)
        : base(options)
    {
    }

    /// <summary>For the provider subclasses, whose options are typed by their own class.</summary>
    protected OrreryDb(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<User> Users => Set<User>();
    public DbSet<Group> Groups => Set<Group>();
    public DbSet<ApiToken> Tokens => Set<ApiToken>();
    public DbSet<ComputeResource> Resources => Set<ComputeResource>();
    public DbSet<DaskCluster> Clusters => Set<DaskCluster>();
    public DbSet<UserServer> Servers => Set<UserServer>();
    public DbSet<BatchJob> Jobs => Set<BatchJob>();
    public DbSet<JobPod> JobPods => Set<JobPod>();
    public DbSet<CronJob> CronJobs => Set<CronJob>();
    public DbSet<SoftwareEnvironment> Environments => Set<SoftwareEnvironment>();

    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        // All times are UTC. SQLite hands back DateTimeKind.Unspecified and PostgreSQL's timestamptz insists on
        // Utc, so one converter makes both providers agree.
        builder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        builder.Properties<DateTime?>().HaveConversion<NullableUtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<User>(user =>
        {
            user.HasIndex(u => u.Name).IsUnique();
            user.Property(u => u.Name).HasMaxLength(128);
            user.HasMany(u => u.Groups).WithMany(g => g.Users).UsingEntity("GroupMembers");
        });
        model.Entity<Group>(group =>
        {
            group.HasIndex(g => g.Name).IsUnique();
            group.Property(g => g.Name).HasMaxLength(128);
        });
        model.Entity<ApiToken>(token =>
        {
            token.HasIndex(t => t.Hash).IsUnique();
            token.HasIndex(t => t.ServerId);
            token.HasOne<UserServer>().WithMany().HasForeignKey(t => t.ServerId).OnDelete(DeleteBehavior.Cascade);
            token.HasOne(t => t.User).WithMany(u => u.Tokens).HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<ComputeResource>(resource =>
        {
            resource.HasIndex(r => r.State);
            resource.HasIndex(r => new { r.OwnerId, r.Kind });
            resource.HasIndex(r => r.Parent);
            resource.Property(r => r.Kind).HasConversion<string>().HasMaxLength(32);
            resource.Property(r => r.State).HasConversion<string>().HasMaxLength(32);
            resource.HasOne(r => r.Owner).WithMany().HasForeignKey(r => r.OwnerId).OnDelete(DeleteBehavior.Cascade);
        });
        ConfigureClusters(model);
        ConfigureJobs(model);
        ConfigureEnvironments(model);
        model.Entity<UserServer>(server =>
        {
            server.HasIndex(s => new { s.UserId, s.Name }).IsUnique();
            server.HasIndex(s => s.State);
            server.Property(s => s.Name).HasMaxLength(128);
            server.Property(s => s.State).HasConversion<string>().HasMaxLength(32);
            server.HasOne(s => s.User).WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });
    }

    private static void ConfigureJobs(ModelBuilder model)
    {
        model.Entity<BatchJob>(job =>
        {
            job.HasIndex(j => new { j.OwnerId, j.Name }).IsUnique();
            job.HasIndex(j => j.State);
            job.HasIndex(j => j.CronJobId);
            job.Property(j => j.Name).HasMaxLength(63);
            job.Property(j => j.State).HasConversion<string>().HasMaxLength(32);
            job.HasOne(j => j.Owner).WithMany().HasForeignKey(j => j.OwnerId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<JobPod>(pod =>
        {
            pod.HasIndex(p => p.Name);
            pod.HasOne(p => p.Job).WithMany().HasForeignKey(p => p.JobId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<CronJob>(cron =>
        {
            cron.HasIndex(c => new { c.OwnerId, c.Name }).IsUnique();
            cron.Property(c => c.Name).HasMaxLength(63);
            cron.HasOne(c => c.Owner).WithMany().HasForeignKey(c => c.OwnerId).OnDelete(DeleteBehavior.Cascade);
        });
    }

    private static void ConfigureEnvironments(ModelBuilder model) => model.Entity<SoftwareEnvironment>(environment =>
    {
        environment.HasIndex(e => new { e.OwnerId, e.Name });
        environment.HasIndex(e => e.ContentId);
        environment.Property(e => e.Name).HasMaxLength(63);
        environment.Property(e => e.ContentId).HasMaxLength(32);
        environment.Property(e => e.Kind).HasMaxLength(16);
        environment.Property(e => e.State).HasConversion<string>().HasMaxLength(32);
        environment.HasOne(e => e.Owner).WithMany().HasForeignKey(e => e.OwnerId).OnDelete(DeleteBehavior.Cascade);
    });

    private static void ConfigureClusters(ModelBuilder model) => model.Entity<DaskCluster>(cluster =>
    {
        cluster.HasKey(c => c.Name);
        cluster.Property(c => c.Name).HasMaxLength(64);
        cluster.HasIndex(c => new { c.OwnerId, c.State });
        cluster.HasIndex(c => c.ServerId);
        cluster.Property(c => c.State).HasConversion<string>().HasMaxLength(32);
        cluster.HasOne(c => c.Owner).WithMany().HasForeignKey(c => c.OwnerId).OnDelete(DeleteBehavior.Cascade);
    });

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.ToUniversalTime(), v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private sealed class NullableUtcDateTimeConverter() : ValueConverter<DateTime?, DateTime?>(
        v => v.HasValue ? v.Value.ToUniversalTime() : v,
        v => v.HasValue ? DateTime.SpecifyKind(v.Value, DateTimeKind.Utc) : v);
}
