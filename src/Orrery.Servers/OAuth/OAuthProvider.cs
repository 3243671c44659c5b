using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Orrery.Servers.OAuth;

/// <summary>Orrery's OAuth 2 provider for personal servers (protocol notes §2.5). Not built yet.</summary>
public static class OAuthProvider
{
    public static void AddServices(IServiceCollection services)
    {
    }

    /// <param name="hub">The <c>{BaseUrl}hub</c> group.</param>
    public static void Map(RouteGroupBuilder hub)
    {
    }
}
