using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Server;

/// <summary>Says where to go once Kestrel listens: the login page under the public URL or the listen address.</summary>
internal sealed partial class StartupBanner(IHostApplicationLifetime lifetime, IServer server, IOptions<OrreryOptions> options,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var settings = options.Value;
            var address = settings.PublicUrl?.TrimEnd('/')
                ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? ServerSetup.DefaultUrl;
            Ready(logger, $"{address}{settings.HubPrefix}login", settings.DataDir);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(10, LogLevel.Warning, "Orrery is ready at {Url} (data in {DataDir})")]
    private static partial void Ready(ILogger logger, string url, string dataDir);
}
