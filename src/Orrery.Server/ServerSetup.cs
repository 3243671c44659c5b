using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Orrery.Backends.Local;
using Orrery.Backends.Podman;
using Orrery.Backends.Slurm;
using Orrery.Compute;
using Orrery.Core.Configuration;
using Orrery.Gateway.Proxy;
using Orrery.Storage;

namespace Orrery.Server;

/// <summary>What every Orrery server has regardless of modules: settings, data directory, storage, backends, limits, errors.</summary>
internal static class ServerSetup
{
    public const string DefaultUrl = "http://127.0.0.1:8000";

    public static WebApplicationBuilder AddOrreryServer(this WebApplicationBuilder builder)
    {
        EnvironmentSettings.AddBelowCommandLine(builder.Configuration);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(DefaultUrl);

        var orrery = builder.Configuration.GetSection(OrreryOptions.SectionName).Get<OrreryOptions>() ?? new OrreryOptions();
        var dataDir = DataDirectory.Prepare(orrery.DataDir);
        var services = builder.Services;
        orrery.DataDir = dataDir;
        // Fail before anything starts, naming every bad setting.
        var problems = orrery.Validate().ToList();
        if (problems.Count > 0)
            throw new InvalidOperationException(string.Join(" ", problems));
        services.AddOptions<OrreryOptions>().BindConfiguration(OrreryOptions.SectionName).PostConfigure(o => o.DataDir = dataDir);

        services.AddSingleton(TimeProvider.System);
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDir, "keys")));
        services.AddOrreryStorage();
        services.AddLocalBackend();
        services.AddCompute();
        services.PostConfigure<LocalBackendOptions>(o => o.StateDir = string.IsNullOrEmpty(o.StateDir) ? Path.Combine(dataDir, "run") : o.StateDir);
        if (builder.Configuration.GetValue<bool>($"{SlurmBackendOptions.SectionName}:Enabled"))
        {
            services.AddSlurmBackend();
            services.PostConfigure<SlurmBackendOptions>(o => o.StateDir = string.IsNullOrEmpty(o.StateDir) ? Path.Combine(dataDir, "slurm") : o.StateDir);
        }
        if (builder.Configuration.GetValue<bool>($"{PodmanBackendOptions.SectionName}:Enabled"))
        {
            services.AddPodmanBackend();
            services.PostConfigure<PodmanBackendOptions>(o => o.StateDir = string.IsNullOrEmpty(o.StateDir) ? Path.Combine(dataDir, "podman") : o.StateDir);
        }
        services.AddDaskSniProxy();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = orrery.MaxRequestBodyBytes);
        services.AddProblemDetails();
        services.AddHostedService<StartupBanner>();
        return builder;
    }

    public static WebApplication UseOrreryServer(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = UnhandledErrors.WriteAsync });
        app.UseStatusCodePages(UnhandledErrors.WriteStatusAsync);
        // Explicitly after the error handlers, so routing failures are answered by them too.
        app.UseRouting();
        return app;
    }
}
