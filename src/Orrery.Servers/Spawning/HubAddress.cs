using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Orrery.Core.Configuration;

namespace Orrery.Servers.Spawning;

/// <summary>
/// How processes Orrery starts on this machine reach Orrery: the first HTTP address it listens on, with a wildcard
/// host replaced by loopback (<c>http://127.0.0.1:8000</c>). Known only once Kestrel listens, which is before any
/// spawn can be asked for.
/// </summary>
public sealed class HubAddress(IServer server, IOptions<OrreryOptions> orrery)
{
    public Uri Internal
    {
        get
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var http = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException("Orrery is not listening on an http:// address yet.");
            var uri = new UriBuilder(http);
            if (uri.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" or "localhost")
                uri.Host = "127.0.0.1";
            uri.Path = orrery.Value.BaseUrl;
            return uri.Uri;
        }
    }

    /// <summary>Where browsers reach Orrery: the public URL if configured, else the internal address.</summary>
    public Uri Public => string.IsNullOrEmpty(orrery.Value.PublicUrl) ? Internal : new Uri(orrery.Value.PublicUrl.TrimEnd('/') + orrery.Value.BaseUrl);
}
