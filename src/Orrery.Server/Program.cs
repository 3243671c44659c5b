using Orrery.Environments;
using Orrery.Gateway;
using Orrery.Hub;
using Orrery.Jobs;
using Orrery.Servers;

namespace Orrery.Server;

public static class Program
{
    public static Task Main(string[] args) => Build(args).RunAsync();

    /// <summary>The whole server, in order. Tests build it the same way, on a free port.</summary>
    public static WebApplication Build(string[] args)
    {
        // appsettings.json is found next to the program, whatever the working directory.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddOrreryServer();   // settings, data directory, storage, compute backends, limits, errors
        builder.AddHubModule();      // users, login, tokens, JupyterHub REST API
        builder.AddServersModule();  // personal servers: profiles, spawn, progress, homes, the /user/ proxy
        builder.AddGatewayModule();  // Dask clusters: dask-gateway API, cluster reconciler, dashboard proxy
        builder.AddJobsModule();     // batch jobs: kbatch-compatible API, code bundles, cron jobs, logs
        builder.AddEnvironmentsModule(); // environments: base + packages + local libraries, built once, used everywhere

        var app = builder.Build();
        app.UseOrreryServer();
        app.MapHubModule();
        app.MapServersModule();
        app.MapGatewayModule();
        app.MapJobsModule();
        app.MapEnvironmentsModule();
        return app;
    }
}
