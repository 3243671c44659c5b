using Microsoft.AspNetCore.Builder;

namespace Orrery.Jobs;

/// <summary>Batch jobs: the kbatch-compatible service, code bundles, cron jobs, logs that outlive processes.</summary>
public static class JobsModule
{
    public static WebApplicationBuilder AddJobsModule(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapJobsModule(this WebApplication app) => app;
}
