using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orrery.Hub.Auth;

namespace Orrery.Hub.Api;

/// <summary>
/// Runs around every hub API handler: resolves the caller (403 "Forbidden" when there is none, as every
/// JupyterHub client expects — never 401) and turns <see cref="HubApiException"/> into the hub's error JSON.
/// </summary>
public sealed class HubApiFilter(bool requireCaller) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            var resolver = context.RequestServices.GetRequiredService<CallerResolver>();
            var caller = await resolver.ResolveApiCallerAsync(context);
            if (caller is null && requireCaller)
                return HubResults.Error(403, "Forbidden");
            context.Items[typeof(Caller)] = caller;
            return await next(invocation);
        }
        catch (HubApiException e)
        {
            return HubResults.Error(e.Status, e.Message);
        }
    }
}

public static class CallerHttpContextExtensions
{
    /// <summary>The caller resolved by <see cref="HubApiFilter"/>; only valid on routes that require one.</summary>
    public static Caller Caller(this HttpContext context) =>
        context.Items[typeof(Caller)] as Caller ?? throw HubApiException.Forbidden();

    public static Caller? OptionalCaller(this HttpContext context) => context.Items[typeof(Caller)] as Caller;
}
