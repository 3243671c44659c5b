using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Orrery.Servers.Proxy;

/// <summary>The authenticating proxy at <c>{BaseUrl}user/&lt;name&gt;/…</c> (protocol notes §5). Not built yet.</summary>
public static class UserProxy
{
    public static void AddServices(IServiceCollection services)
    {
    }

    public static void Map(WebApplication app)
    {
    }
}
