using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;
using Orrery.Hub.Pages;
using Orrery.Jobs.Api;
using Orrery.Jobs.Cron;
using Orrery.Jobs.Running;

namespace Orrery.Jobs;

/// <summary>Batch jobs: the kbatch-compatible service, code bundles, cron jobs, logs that outlive processes.</summary>
public static class JobsModule
{
    public static WebApplicationBuilder AddJobsModule(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.SectionName)
            .Validate(o => o.Retention > TimeSpan.Zero && o.MaxConcurrentJobs >= 0 && o.MaxCores >= 0, "Orrery:Jobs: Retention must be positive and limits not negative.")
            .Validate(o => { JobFiles.Limits(o); _ = ByteSizes.Parse(o.MaxMemory); return true; })
            .ValidateOnStart();
        services.AddSingleton<JobReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<JobReconciler>());
        services.AddSingleton<CronScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<CronScheduler>());
        services.AddScoped<JobService>();
        return builder;
    }

    public static WebApplication MapJobsModule(this WebApplication app)
    {
        var orrery = app.Services.GetRequiredService<IOptions<OrreryOptions>>().Value;
        var jobs = app.Services.GetRequiredService<IOptions<JobsOptions>>().Value;
        var known = app.Services.GetRequiredService<Compute.ComputeBackends>();
        foreach (var (setting, backend) in jobs.NamedBackends().Where(b => known.Find(b.Backend) is null))
            throw new InvalidOperationException($"{setting}: unknown compute backend '{backend}'; this Orrery has: {string.Join(", ", known.Names)}.");
        var prefix = orrery.ServicePrefix(jobs.ServiceName).TrimEnd('/');
        var open = app.MapGroup(prefix).AddEndpointFilter(new JobsAuthFilter(requireCaller: false));
        var api = app.MapGroup(prefix).AddEndpointFilter(new JobsAuthFilter(requireCaller: true));
        JobsApi.Map(open, api);
        return app;
    }
}
