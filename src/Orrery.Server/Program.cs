using Orrery.Hub;

namespace Orrery.Server;

public static class Program
{
    public static Task Main(string[] args) => Build(args).RunAsync();

    /// <summary>The whole server, in order. Tests build it the same way, on a free port.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddOrreryServer();   // settings, data directory, storage, compute backends, limits, errors
        builder.AddHubModule();      // users, login, tokens, JupyterHub REST API

        var app = builder.Build();
        app.UseOrreryServer();
        app.MapHubModule();
        return app;
    }
}
