using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orrery.Hub.Auth;

namespace Orrery.Hub.Api;

/// <summary>
/// Runs around every hub API handler: resolves the caller (403 "Forbidden" when there is none, as every
/// JupyterHub client expects — never 401), turns <see cref="HubApiException"/> into the hub's error JSON, and
/// turns a save that lost a race with a concurrent request into the 404 or 409 it would have been had the two run
/// one after the other.
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
        // Another request changed the same rows between this one's checks and its save: a row it updates or
        // deletes is gone (concurrency), or a name it inserts now exists or a member it adds was deleted
        // (constraint). One after the other these would have been a 404 or a 409, so answer that, not a 500.
        catch (DbUpdateConcurrencyException e)
        {
            return LostRace(context, e, 404, "Not Found");
        }
        catch (DbUpdateException e)
        {
            return LostRace(context, e, 409, "Conflicting change by a concurrent request; try again");
        }
    }

    private static IResult LostRace(HttpContext context, DbUpdateException e, int status, string message)
    {
        context.RequestServices.GetRequiredService<ILogger<HubApiFilter>>()
            .ConcurrentChange(context.Request.Method, context.Request.Path, status, e);
        return HubResults.Error(status, message);
    }
}

public static class CallerHttpContextExtensions
{
    /// <summary>The caller resolved by <see cref="HubApiFilter"/>; only valid on routes that require one.</summary>
    public static Caller Caller(this HttpContext context) =>
        context.Items[typeof(Caller)] as Caller ?? throw HubApiException.Forbidden();

    public static Caller? OptionalCaller(this HttpContext context) => context.Items[typeof(Caller)] as Caller;
}
