using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Orrery.Servers.Pages;

/// <summary>The spawn, spawn-pending and server pages (protocol notes §4.8). Not built yet.</summary>
public static class ServerPages
{
    public static void AddServices(IServiceCollection services)
    {
    }

    /// <param name="hub">The <c>{BaseUrl}hub</c> group.</param>
    public static void Map(RouteGroupBuilder hub)
    {
    }
}
